package netwire

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
)

// Resource Manager's bodies are untrusted input: whatever they hold,
// decoding them and judging what they decode to must not panic.

func seedFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(fixtures, n)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"value": null}`, `{"value": [null, {}, 1, "x"]}`,
		`{"value": [{"addressPrefix": "not a prefix", "tagMap": "x", "nextHopIpAddress": [1]}]}`,
		`{"value": [{"effectiveSecurityRules": [{"destinationPortRange": "70000-1", "protocol": "All"}], "tagMap": {"A": ["::/0", 5]}}]}`} {
		f.Add([]byte(s))
	}
}

func FuzzEffectiveRoutes(f *testing.F) {
	seedFixtures(f, "effective-routes.json")
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
	seedFixtures(f, "effective-nsgs.json", "effective-nsgs-string-tagmap.json")
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
