package routes

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func tagUDR(name string, tags []string, prefixes []netip.Prefix, hop string, ip ...string) Route {
	return Route{Name: name, Source: "User", State: "Active", ServiceTags: tags, Prefixes: prefixes, NextHopType: hop, NextHopIPs: ip}
}

// 0.0.0.0/1 + 128.0.0.0/1 to an appliance force Internet-bound traffic as
// surely as 0.0.0.0/0, although the system 0.0.0.0/0 stays Active (its
// prefix differs, so Azure does not mark it Invalid). Judging the /0 entry
// alone passed this table.
func TestForcedTunnelSplitDefault(t *testing.T) {
	rs := append(baseRoutes(),
		udr("half-lo", "0.0.0.0/1", HopVirtualAppliance, "10.1.255.4"),
		udr("half-hi", "128.0.0.0/1", HopVirtualAppliance, "10.1.255.4"))
	r := ForcedTunnel(NewTable(rs))
	if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || r.Hint == "" {
		t.Fatalf("split default to an appliance: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	for _, want := range []string{"VirtualAppliance", "0.0.0.0/1", "128.0.0.0/1", "half-lo", "half-hi"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q lacks %q", r.Message, want)
		}
	}
	if r.Evidence["internet_bound_by_next_hop"].(map[string]string)[HopVirtualAppliance] != "100.0%" {
		t.Errorf("evidence: %v", r.Evidence)
	}
	if ip := r.Evidence["next_hop_ip"].([]string); ip[0] != "10.1.255.4" {
		t.Errorf("next hop ip: %v", ip)
	}

	// The same through an ECMP appliance pair.
	rs = append(baseRoutes(),
		udr("lo", "0.0.0.0/1", HopVirtualApplianceEcmp, "10.1.255.4", "10.1.255.5"),
		udr("hi", "128.0.0.0/1", HopVirtualApplianceEcmp, "10.1.255.4", "10.1.255.5"))
	if r := ForcedTunnel(NewTable(rs)); r.Status != probes.Warn || !strings.Contains(r.Message, HopVirtualApplianceEcmp) {
		t.Fatalf("ECMP: %s %s", r.Status, r.Message)
	}

	// Split to None drops it.
	rs = append(baseRoutes(), udr("lo", "0.0.0.0/1", HopNone), udr("hi", "128.0.0.0/1", HopNone))
	if r := ForcedTunnel(NewTable(rs)); r.Status != probes.Warn || !strings.Contains(r.Message, "drops") {
		t.Fatalf("split to None: %s %s", r.Status, r.Message)
	}

	// BGP advertising the halves through the gateway.
	rs = append(baseRoutes(),
		Route{Source: "VirtualNetworkGateway", State: "Active", Prefixes: pfx("0.0.0.0/1", "128.0.0.0/1"), NextHopType: HopGateway, NextHopIPs: []string{"10.1.254.4"}})
	if r := ForcedTunnel(NewTable(rs)); r.Status != probes.Warn || !strings.Contains(r.Message, HopGateway) {
		t.Fatalf("BGP halves: %s %s", r.Status, r.Message)
	}
}

// A few specific prefixes to an appliance do not make the subnet
// force-tunnelled, but the pass says where that part goes.
func TestForcedTunnelSmallDetours(t *testing.T) {
	rs := append(baseRoutes(), udr("partner", "203.0.113.0/24", HopVirtualAppliance, "10.1.255.4"))
	r := ForcedTunnel(NewTable(rs))
	if r.Status != probes.Pass || !strings.Contains(r.Message, "partner") || !strings.Contains(r.Message, "<0.1% of it goes elsewhere") {
		t.Fatalf("small detour: %s %s", r.Status, r.Message)
	}
	// Service endpoints leave over Azure's backbone: no detour.
	rs = append(baseRoutes(), Route{Source: "Default", State: "Active", Prefixes: pfx("20.38.96.0/19", "52.239.128.0/17"), NextHopType: HopServiceEndpoint})
	if r := ForcedTunnel(NewTable(rs)); r.Status != probes.Pass || strings.Contains(r.Message, "elsewhere") {
		t.Fatalf("service endpoint counted as a detour: %s %s", r.Status, r.Message)
	}
}

func TestInternetBoundSpace(t *testing.T) {
	cs, total := NewTable(baseRoutes()).InternetBound()
	// 2^32 minus 0/8, 10/8, 127/8 (3·2^24), 100.64/10 (2^22), 169.254/16,
	// 192.168/16 (2·2^16), 172.16/12 (2^20) and 224/3 (2^29).
	want := uint64(1)<<32 - 3<<24 - 1<<22 - 2<<16 - 1<<20 - 1<<29
	if total != want {
		t.Fatalf("total %d, want %d", total, want)
	}
	if len(cs) != 1 || !cs[0].Route.Is(HopInternet) || cs[0].Addrs != total {
		t.Fatalf("carriers: %+v", cs)
	}
}

// On an identical prefix an explicit prefix beats a service-tag route, and
// among tags regional > global > AzureCloud.<region> > AzureCloud. The
// routes are listed worst first: input order used to decide.
func TestTagRouteTieBreaks(t *testing.T) {
	p := pfx("20.38.96.0/19")
	all := []Route{
		tagUDR("cloud", []string{"AzureCloud"}, p, HopVirtualAppliance, "10.0.0.1"),
		tagUDR("cloud-regional", []string{"AzureCloud.westeurope"}, p, HopVirtualAppliance, "10.0.0.2"),
		tagUDR("global", []string{"Storage"}, p, HopVirtualAppliance, "10.0.0.3"),
		tagUDR("regional", []string{"Storage.WestEurope"}, p, HopInternet),
		udr("explicit", "20.38.96.0/19", HopVirtualAppliance, "10.0.0.5"),
	}
	addr := netip.MustParseAddr("20.38.100.1")
	for i := len(all); i >= 1; i-- {
		rs := all[:i]
		r, _, ok := NewTable(rs).Lookup(addr)
		if !ok || r.Name != rs[i-1].Name {
			t.Errorf("with %d routes: got %v, want %s", i, r, rs[i-1].Name)
		}
	}
	// A system route still loses to any user route on the same prefix.
	r, _, _ := NewTable(append([]Route{sys("20.38.96.0/19", HopServiceEndpoint)}, all[0])).Lookup(addr)
	if r.Name != "cloud" {
		t.Errorf("system over tag UDR: %v", r)
	}
	// tagMap decides per prefix when a route lists several tags.
	multi := tagUDR("multi", []string{"AzureCloud", "Storage.WestEurope"}, p, HopVirtualAppliance)
	multi.TagPrefixes = map[string][]netip.Prefix{"AzureCloud": p}
	global := tagUDR("global", []string{"Storage"}, p, HopInternet)
	if r, _, _ := NewTable([]Route{multi, global}).Lookup(addr); r.Name != "global" {
		t.Errorf("tagMap lists the prefix under AzureCloud only: got %s", r.Name)
	}
}

// A UDR whose address prefix is a tag name comes without CIDRs; it is
// expanded from the service tag set, or kept and named when the set does not
// know it.
func TestExpandServiceTags(t *testing.T) {
	apim := pfx("13.64.39.16/32", "40.74.0.0/16")
	fw := append(baseRoutes(), udr("fw", "0.0.0.0/0", HopVirtualAppliance, "10.1.255.4"))
	fw[1].State = "Invalid"
	rs := append(fw, tagUDR("apim-tag", []string{"ApiManagement"}, nil, HopInternet))
	lookup := func(tag string) []netip.Prefix {
		if strings.EqualFold(tag, "ApiManagement") {
			return apim
		}
		return nil
	}
	ex := ExpandServiceTags(rs, lookup)
	if len(rs[len(rs)-1].Prefixes) != 0 {
		t.Fatal("ExpandServiceTags modified its input")
	}
	if r := ManagementReturn(NewTable(ex), apim); r.Status != probes.Pass {
		t.Fatalf("expanded tag route: %s %s", r.Status, r.Message)
	}

	// Unknown tag: the route is not dropped silently.
	ex = ExpandServiceTags(rs, func(string) []netip.Prefix { return nil })
	tb := NewTable(ex)
	if len(tb.Unresolved()) != 1 || ex[len(ex)-1].Unresolved[0] != "ApiManagement" {
		t.Fatalf("unresolved: %+v", tb.Unresolved())
	}
	r := ManagementReturn(tb, apim)
	if r.Status != probes.Fail || !strings.Contains(r.Message, "apim-tag") || r.Evidence["unresolved_tag_routes"] == nil {
		t.Fatalf("unresolved tag route must be named: %s %s %v", r.Status, r.Message, r.Evidence)
	}
	if r := ForcedTunnel(tb); !strings.Contains(r.Message, "apim-tag") {
		t.Fatalf("forced tunnel should name the unresolved route: %s", r.Message)
	}

	// Already expanded by Resource Manager (CIDRs in addressPrefix): lookup
	// is not consulted.
	given := tagUDR("given", []string{"ApiManagement"}, pfx("13.64.39.16/32"), HopInternet)
	ex = ExpandServiceTags([]Route{given}, func(string) []netip.Prefix { t.Fatal("lookup called"); return nil })
	if len(ex[0].Prefixes) != 1 || len(ex[0].Unresolved) != 0 {
		t.Fatalf("given: %+v", ex[0])
	}
	// tagMap lists one tag; the other is looked up.
	part := tagUDR("part", []string{"ApiManagement", "Storage"}, pfx("13.64.39.16/32"), HopInternet)
	part.TagPrefixes = map[string][]netip.Prefix{"ApiManagement": pfx("13.64.39.16/32")}
	ex = ExpandServiceTags([]Route{part}, func(tag string) []netip.Prefix {
		if tag == "Storage" {
			return pfx("20.38.96.0/19")
		}
		return nil
	})
	if len(ex[0].Prefixes) != 2 || len(ex[0].TagPrefixes["Storage"]) != 1 {
		t.Fatalf("part: %+v", ex[0])
	}
}

func TestDescribeNamesTag(t *testing.T) {
	r := tagUDR("apim", []string{"ApiManagement"}, pfx("13.64.39.16/32"), HopInternet)
	if d := r.Describe(r.Prefixes[0]); !strings.Contains(d, "service tag ApiManagement") {
		t.Fatal(d)
	}
}

// BenchmarkForcedTunnelLargeTable: a table with 600 service-endpoint
// prefixes and 100 UDRs, the size of a busy hub spoke.
func BenchmarkForcedTunnelLargeTable(b *testing.B) {
	rs := append(baseRoutes(), udr("lo", "0.0.0.0/1", HopVirtualAppliance, "10.1.255.4"), udr("hi", "128.0.0.0/1", HopVirtualAppliance, "10.1.255.4"))
	var se []netip.Prefix
	for i := 0; i < 600; i++ {
		se = append(se, netip.MustParsePrefix(fmt.Sprintf("%d.%d.%d.0/24", 20+i%30, i/30, i%256)))
	}
	rs = append(rs, Route{Source: "Default", State: "Active", Prefixes: se, NextHopType: HopServiceEndpoint})
	for i := 0; i < 100; i++ {
		rs = append(rs, udr(fmt.Sprintf("u%d", i), fmt.Sprintf("52.%d.0.0/16", i), HopInternet))
	}
	tb := NewTable(rs)
	for b.Loop() {
		if r := ForcedTunnel(tb); r.Status != probes.Warn {
			b.Fatal(r.Message)
		}
	}
}
