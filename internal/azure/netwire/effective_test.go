package netwire

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The wire fixture carries tagMap as an object, as real ARM does; the
// armnetwork SDK types it as a string and lost the whole list
// ("cannot unmarshal object into Go value of type string").
func TestEffectiveNSGsWireShape(t *testing.T) {
	var body EffectiveNSGList
	if err := json.Unmarshal(fixture(t, "effective-nsgs.json"), &body); err != nil {
		t.Fatal(err)
	}
	groups, err := ConvertNSGs(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 {
		t.Fatalf("%d groups", len(groups))
	}
	sub, nic, admin := groups[0], groups[1], groups[2]
	if sub.Scope != "subnet" || sub.Name() != "nsg-apim" || nic.Scope != "nic" {
		t.Fatalf("scopes: %s %s, %s", sub.Scope, sub.Name(), nic.Scope)
	}
	if !admin.IsAdmin() || admin.Name() != "avnm-hub" || admin.Rules[0].Access != nsg.AlwaysAllow {
		t.Fatalf("admin group: %+v", admin)
	}
	deny := sub.Rules[4]
	if deny.Name != "securityRules/DenyInternetOut" {
		t.Fatalf("rule order: %s", deny.Name)
	}
	// sourceAddressPrefixes repeats "0.0.0.0/0" on the wire; kept once.
	if len(deny.Sources) != 1 || deny.Sources[0] != "0.0.0.0/0" || len(deny.SourcePorts) != 1 || deny.SourcePorts[0] != "0-65535" {
		t.Fatalf("deny rule: %+v", deny)
	}
	if len(deny.ExpandedDestinations) < 50 {
		t.Fatalf("Internet expanded: %d prefixes", len(deny.ExpandedDestinations))
	}
	s := &snapshot.Snapshot{NSGs: groups}
	if sg := s.SubnetGroups(); len(sg) != 2 || !sg[1].IsAdmin() {
		t.Fatalf("subnet groups must include the admin rules and not the NIC's NSG: %+v", sg)
	}
}

func TestTagMapForms(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]int // tag → prefixes
	}{
		{`{"ApiManagement": ["13.64.39.16/32", "40.74.146.80/31"], "Internet": []}`, map[string]int{"ApiManagement": 2, "Internet": 0}},
		{`"{\"ApiManagement\":[\"13.64.39.16/32\"]}"`, map[string]int{"ApiManagement": 1}},
		{`""`, nil},
		{`null`, nil},
		{`"not json"`, nil},
		{`42`, nil},
		{`{"A": "1.2.3.0/24", "B": [1, 2]}`, map[string]int{"A": 1}},
	}
	for _, c := range cases {
		var m TagMap
		if err := json.Unmarshal([]byte(c.in), &m); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if len(m) != len(c.want) {
			t.Errorf("%s: got %v", c.in, m)
		}
		for k, n := range c.want {
			if len(m[k]) != n {
				t.Errorf("%s: %s has %d", c.in, k, len(m[k]))
			}
		}
	}
}

// A rule without expanded prefixes takes them from the group's tagMap.
func TestNSGExpandFromTagMap(t *testing.T) {
	body := `{"value":[{"networkSecurityGroup":{"id":"/x/networkSecurityGroups/n"},"association":{"subnet":{"id":"/x/subnets/s"}},
	 "effectiveSecurityRules":[{"name":"securityRules/mgmt","protocol":"Tcp","sourcePortRange":"0-65535","destinationPortRange":"3443",
	  "sourceAddressPrefix":"ApiManagement","destinationAddressPrefix":"VirtualNetwork","access":"Allow","priority":100,"direction":"Inbound"}],
	 "tagMap":{"apimanagement":["13.64.39.16/32","40.74.146.80/31"],"VirtualNetwork":["10.1.0.0/16"]}}]}`
	var l EffectiveNSGList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	gs, err := ConvertNSGs(l)
	if err != nil {
		t.Fatal(err)
	}
	r := gs[0].Rules[0]
	if len(r.ExpandedSources) != 2 || len(r.ExpandedDestinations) != 1 {
		t.Fatalf("expanded from tagMap: %v / %v", r.ExpandedSources, r.ExpandedDestinations)
	}
	if _, err := ConvertNSGs(EffectiveNSGList{}); err == nil {
		t.Fatal("a body without value must be malformed")
	}
}

// Every form azure-facts §11.2 lists for a service-tag UDR is kept, with
// destinationServiceTags, tagMap and hasBgpOverride, which the SDK dropped.
func TestConvertRoutesWireForms(t *testing.T) {
	body := `{"value":[
	 {"name":"by-name","source":"User","state":"Active","hasBgpOverride":false,"addressPrefix":["ApiManagement"],"nextHopType":"Internet","nextHopIpAddress":[],"destinationServiceTags":[],"tagMap":{}},
	 {"name":"by-tags","source":"User","state":"Active","hasBgpOverride":true,"addressPrefix":["13.64.39.16/32","40.74.146.80/31"],"nextHopType":"Internet","nextHopIpAddress":[],"destinationServiceTags":["ApiManagement"],"tagMap":{}},
	 {"name":"by-map","source":"User","state":"Active","addressPrefix":[],"nextHopType":"VirtualApplianceEcmp","nextHopIpAddress":["10.0.0.4","10.0.0.5"],"destinationServiceTags":["Storage.WestEurope"],"tagMap":{"Storage.WestEurope":["20.38.96.0/19"]}},
	 {"name":"both","source":"User","state":"Active","addressPrefix":["20.38.96.0/19"],"nextHopType":"Internet","destinationServiceTags":"Storage","tagMap":"{\"Storage\":[\"20.38.96.0/19\",\"52.239.128.0/17\"]}"},
	 {"source":"Default","state":"Active","addressPrefix":"10.1.0.0/16","nextHopType":"VnetLocal","nextHopIpAddress":null}
	]}`
	var l EffectiveRouteList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	rs, err := ConvertRoutes(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 {
		t.Fatalf("%d routes", len(rs))
	}
	byName, byTags, byMap, both, sys := rs[0], rs[1], rs[2], rs[3], rs[4]
	if len(byName.Prefixes) != 0 || len(byName.ServiceTags) != 1 || byName.ServiceTags[0] != "ApiManagement" {
		t.Errorf("tag name in addressPrefix: %+v", byName)
	}
	if len(byTags.Prefixes) != 2 || byTags.ServiceTags[0] != "ApiManagement" || !byTags.HasBgpOverride {
		t.Errorf("destinationServiceTags + CIDRs: %+v", byTags)
	}
	if len(byMap.Prefixes) != 1 || len(byMap.TagPrefixes["Storage.WestEurope"]) != 1 || len(byMap.NextHopIPs) != 2 {
		t.Errorf("CIDRs in tagMap only: %+v", byMap)
	}
	if len(both.Prefixes) != 2 || len(both.ServiceTags) != 1 {
		t.Errorf("CIDRs in addressPrefix and tagMap (deduplicated): %+v", both)
	}
	if len(sys.Prefixes) != 1 || sys.Prefixes[0] != netip.MustParsePrefix("10.1.0.0/16") || len(sys.ServiceTags) != 0 {
		t.Errorf("single-string addressPrefix: %+v", sys)
	}
	// The tag-name route is expanded from the service tags at analysis
	// time, not dropped.
	snap := &snapshot.Snapshot{Routes: rs, ServiceTags: mustTags(t)}
	tb := routes.NewTable(routes.ExpandServiceTags(snap.Routes, snap.ServiceTags.Prefixes)) // as the judgements expand them
	if r, _, ok := tb.Lookup(netip.MustParseAddr("51.145.179.78")); !ok || r.Name != "by-name" {
		t.Fatalf("tag route by name not expanded: %v", r)
	}
}

func mustTags(t *testing.T) *servicetags.Set {
	t.Helper()
	set, err := servicetags.Parse(bytes.NewReader(fixture(t, "service-tags-arm.json")), "arm")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// BenchmarkDecodeEffectiveNSGs: decoding and converting the wire fixture
// (three groups, the Internet tag expanded, tagMap objects).
func BenchmarkDecodeEffectiveNSGs(b *testing.B) {
	raw := fixture(b, "effective-nsgs.json")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var l EffectiveNSGList
		if err := json.Unmarshal(raw, &l); err != nil {
			b.Fatal(err)
		}
		if _, err := ConvertNSGs(l); err != nil {
			b.Fatal(err)
		}
	}
}

// The effective route table real Resource Manager answered for a plain VM
// (Azure/azure-cli, recordings/test_network_nic_convenience_commands.yaml,
// api-version 2021-08-01, reformatted, values verbatim): the VNet, the
// default route and 15 reserved Default routes with next hop None, RFC 1918
// and 100.64.0.0/10 and Microsoft's public ranges, 198.18.0.0/15 among them
// (azure-facts §12.4). They decode, they are reserved, and the verdict says
// so in its evidence, not in its message.
func TestRecordedEffectiveRoutesWithReservedRoutes(t *testing.T) {
	var l EffectiveRouteList
	if err := json.Unmarshal(fixture(t, "effective-routes-recorded.json"), &l); err != nil {
		t.Fatal(err)
	}
	rs, err := ConvertRoutes(l)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 17 {
		t.Fatalf("%d routes, want 17", len(rs))
	}
	var reserved []string
	for i := range rs {
		if rs[i].Reserved() {
			reserved = append(reserved, rs[i].Prefixes[0].String())
		}
	}
	if len(reserved) != 15 || !slices.Contains(reserved, "198.18.0.0/15") || !slices.Contains(reserved, "20.35.252.0/22") {
		t.Fatalf("reserved routes %v", reserved)
	}
	tb := routes.NewTable(rs)
	// The VNet's own space wins over 10.0.0.0/8 by longest match; the
	// reserved ranges themselves go nowhere.
	for addr, hop := range map[string]string{"10.0.0.4": routes.HopVnetLocal, "10.9.0.4": routes.HopNone, "198.19.0.1": routes.HopNone, "20.60.0.1": routes.HopInternet} {
		if r, _, _ := tb.Lookup(netip.MustParseAddr(addr)); !r.Is(hop) {
			t.Errorf("%s: next hop %v, want %s", addr, r, hop)
		}
	}
	res := routes.ForcedTunnel(tb)
	if res.Status != probes.Pass || strings.Contains(res.Message, "None") || strings.Contains(res.Message, "elsewhere") {
		t.Errorf("forced tunnel: %s %q", res.Status, res.Message)
	}
	ev, _ := res.Evidence["reserved_routes"].([]string)
	if len(ev) != 12 || !slices.ContainsFunc(ev, func(s string) bool { return strings.HasPrefix(s, "198.18.0.0/15 → None") }) {
		t.Errorf("reserved routes evidence %v", res.Evidence["reserved_routes"])
	}
	if share := res.Evidence["internet_bound_by_next_hop"].(map[string]string); share["Internet"] != "100.0%" || share["None"] != "" {
		t.Errorf("share %v", share)
	}
}

// fixtures are the recorded answers, kept beside discover's tests of the
// reads, which serve the same bodies.
const fixtures = "../discover/testdata"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
