package discover

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The bodies of the metadata service and of Resource Manager are untrusted
// input: whatever they hold, reading and judging them must not panic, and
// what the run keeps of them stays within what Azure can give.

func FuzzInstanceResource(f *testing.F) {
	testtool.SeedBodies(f, "testdata", "apim.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var a apimResource
		if json.Unmarshal(body, &a) != nil {
			return
		}
		a.info()
	})
}

func FuzzConfiguredNSG(f *testing.F) {
	testtool.SeedBodies(f, "testdata")
	f.Add([]byte(`{"id": "/x/nsg", "properties": {"securityRules": [{"name": "a", "properties": {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "ApiManagement", "destinationPortRange": "3443", "destinationAddressPrefixes": ["10.0.0.0/24", "x"]}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var res nsgResource
		if json.Unmarshal(body, &res) != nil {
			return
		}
		g := nsgGroupOf(res, "/nsg", "subnet")
		flow := nsg.Flow{Direction: "Inbound", Protocol: "Tcp", Port: 3443,
			Source:      nsg.Endpoint{Tag: "ApiManagement", Prefixes: []netip.Prefix{netip.MustParsePrefix("13.64.0.0/11")}},
			Destination: nsg.Endpoint{Tag: "VirtualNetwork", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.2.0/27")}}}
		nsg.FlowResult([]nsg.Group{*g}, flow, true)
	})
}

func FuzzConfiguredRouteTable(f *testing.F) {
	testtool.SeedBodies(f, "testdata")
	f.Add([]byte(`{"properties": {"routes": [{"name": "d", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.4"}}, {"name": "t", "properties": {"addressPrefix": "ApiManagement", "nextHopType": "Internet"}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var res routeTableResource
		if json.Unmarshal(body, &res) != nil {
			return
		}
		rs := append(judge.SystemRoutes(&snapshot.ConfiguredView{VNetPrefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}), udrsOf(res)...)
		tab := routes.NewTable(rs)
		routes.ForcedTunnel(tab)
		routes.ManagementReturn(tab, []netip.Prefix{netip.MustParsePrefix("13.64.0.0/11")})
	})
}
