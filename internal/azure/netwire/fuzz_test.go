package netwire

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
)

// Resource Manager's bodies are untrusted input: whatever they hold,
// decoding them and judging what they decode to must not panic.

func FuzzEffectiveRoutes(f *testing.F) {
	testtool.SeedBodies(f, fixtures, "effective-routes.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var l EffectiveRouteList
		if json.Unmarshal(body, &l) != nil {
			return
		}
		rs, err := ConvertRoutes(l)
		if err != nil {
			return
		}
		tab := routes.NewTable(rs)
		routes.ForcedTunnel(tab)
		routes.ManagementReturn(tab, []netip.Prefix{netip.MustParsePrefix("13.64.0.0/11")})
	})
}

func FuzzEffectiveNSGs(f *testing.F) {
	testtool.SeedBodies(f, fixtures, "effective-nsgs.json", "effective-nsgs-string-tagmap.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var l EffectiveNSGList
		if json.Unmarshal(body, &l) != nil {
			return
		}
		groups, err := ConvertNSGs(l)
		if err != nil {
			return
		}
		flow := nsg.Flow{Direction: "Inbound", Protocol: "Tcp", Port: 3443,
			Source:      nsg.Endpoint{Tag: "ApiManagement", Prefixes: []netip.Prefix{netip.MustParsePrefix("13.64.0.0/11")}},
			Destination: nsg.Endpoint{Tag: "VirtualNetwork", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.2.0/27")}}}
		nsg.FlowResult(groups, flow, true)
	})
}
