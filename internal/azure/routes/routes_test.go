package routes

import (
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func sys(prefix, hop string) Route {
	return Route{Source: "Default", State: "Active", Prefixes: pfx(prefix), NextHopType: hop}
}

func udr(name, prefix, hop string, ip ...string) Route {
	return Route{Name: name, Source: "User", State: "Active", Prefixes: pfx(prefix), NextHopType: hop, NextHopIPs: ip}
}

// A typical hub-and-spoke subnet: system routes plus a UDR default route to
// a firewall.
func baseRoutes() []Route {
	return []Route{
		sys("10.1.0.0/16", HopVnetLocal),
		sys("0.0.0.0/0", HopInternet),
		sys("10.0.0.0/8", HopNone),
		sys("100.64.0.0/10", HopNone),
	}
}

func TestLookupLongestPrefix(t *testing.T) {
	rs := append(baseRoutes(), udr("fw", "0.0.0.0/0", HopVirtualAppliance, "10.1.255.4"))
	// The overridden system default route is marked Invalid by Azure.
	rs[1].State = "Invalid"
	rs = append(rs, udr("apim-cp", "13.64.39.16/32", HopInternet), udr("big", "13.64.0.0/11", HopGateway))
	tb := NewTable(rs)
	cases := []struct {
		addr, hop, via string
	}{
		{"13.64.39.16", HopInternet, "13.64.39.16/32"},
		{"13.64.39.17", HopGateway, "13.64.0.0/11"},
		{"8.8.8.8", HopVirtualAppliance, "0.0.0.0/0"},
		{"10.1.3.4", HopVnetLocal, "10.1.0.0/16"},
		{"10.9.3.4", HopNone, "10.0.0.0/8"},
	}
	for _, c := range cases {
		r, p, ok := tb.Lookup(netip.MustParseAddr(c.addr))
		if !ok || !r.Is(c.hop) || p.String() != c.via {
			t.Errorf("%s: got %v via %v (ok %v), want %s via %s", c.addr, r, p, ok, c.hop, c.via)
		}
	}
	if _, _, ok := tb.Lookup(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("IPv6 address matched an IPv4 route")
	}
}

func TestTieBreakUserOverBGPOverSystem(t *testing.T) {
	tb := NewTable([]Route{
		sys("20.0.0.0/8", HopInternet),
		{Source: "VirtualNetworkGateway", State: "Active", Prefixes: pfx("20.0.0.0/8"), NextHopType: HopGateway},
		udr("u", "20.0.0.0/8", HopVirtualAppliance, "10.0.0.4"),
	})
	if r, _, _ := tb.Lookup(netip.MustParseAddr("20.1.1.1")); !r.Is(HopVirtualAppliance) {
		t.Fatalf("equal prefixes: got %s, want the user route", r.NextHopType)
	}
	// A more specific BGP route does not beat the system VNet route.
	tb = NewTable([]Route{
		sys("10.1.0.0/16", HopVnetLocal),
		{Source: "VirtualNetworkGateway", State: "Active", Prefixes: pfx("10.1.2.0/24"), NextHopType: HopGateway},
	})
	if r, _, _ := tb.Lookup(netip.MustParseAddr("10.1.2.3")); !r.Is(HopVnetLocal) {
		t.Fatalf("BGP over VNet: got %s, want VnetLocal", r.NextHopType)
	}
}

// The ApiManagement prefixes are judged prefix by prefix, including routes
// more specific than a tag prefix that take only part of it.
func TestManagementReturn(t *testing.T) {
	apim := pfx("13.64.39.16/32", "40.74.0.0/16", "2603:1000::/48")
	fwDefault := func() []Route {
		rs := append(baseRoutes(), udr("fw", "0.0.0.0/0", HopVirtualAppliance, "10.1.255.4"))
		rs[1].State = "Invalid"
		return rs
	}
	cases := []struct {
		name   string
		routes []Route
		status probes.Status
		reason probes.Reason
	}{
		{"no forced tunnel", baseRoutes(), probes.Pass, probes.ReasonOK},
		{"forced tunnel, no tag route", fwDefault(), probes.Fail, probes.ReasonAsymmetricRoute},
		{"forced tunnel with ApiManagement routes to Internet",
			append(fwDefault(), udr("apim1", "13.64.39.16/32", HopInternet), udr("apim2", "40.74.0.0/16", HopInternet)),
			probes.Pass, probes.ReasonOK},
		{"tag route present but a /8 UDR to the appliance is more specific than /0 and less than the tag",
			append(baseRoutes(), udr("apim2", "40.74.0.0/16", HopInternet), udr("onprem", "13.0.0.0/8", HopVirtualAppliance, "10.1.255.4")),
			probes.Fail, probes.ReasonAsymmetricRoute},
		{"a more specific UDR inside a tag prefix steals part of it",
			append(baseRoutes(), udr("steal", "40.74.12.0/24", HopVirtualAppliance, "10.1.255.4")),
			probes.Fail, probes.ReasonAsymmetricRoute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := ManagementReturn(NewTable(c.routes), apim)
			if res.Status != c.status || res.Reason != c.reason {
				t.Fatalf("got %s/%s (%s), want %s/%s", res.Status, res.Reason, res.Message, c.status, c.reason)
			}
			if res.Status == probes.Fail && res.Hint == "" {
				t.Fatal("fail without hint")
			}
			if res.Evidence["ipv6_prefixes_ignored"] != 1 {
				t.Fatalf("IPv6 prefix should be ignored on an IPv4-only table: %v", res.Evidence)
			}
		})
	}
}

func TestIPv6PrefixesCheckedWhenTableHasIPv6(t *testing.T) {
	rs := append(baseRoutes(), Route{Source: "Default", State: "Active", Prefixes: pfx("::/0"), NextHopType: HopVirtualAppliance})
	res := ManagementReturn(NewTable(rs), pfx("13.64.39.16/32", "2603:1000::/48"))
	if res.Status != probes.Fail {
		t.Fatalf("IPv6 tag prefix via appliance should fail: %s %s", res.Status, res.Message)
	}
}

func TestForcedTunnel(t *testing.T) {
	if r := ForcedTunnel(NewTable(baseRoutes())); r.Status != probes.Pass {
		t.Fatalf("plain: %s %s", r.Status, r.Message)
	}
	rs := append(baseRoutes(), udr("fw", "0.0.0.0/0", HopVirtualAppliance, "10.1.255.4"))
	r := ForcedTunnel(NewTable(rs))
	if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || r.Hint == "" {
		t.Fatalf("appliance: %+v", r)
	}
	if r.Evidence["next_hop_ip"].([]string)[0] != "10.1.255.4" {
		t.Fatalf("evidence: %v", r.Evidence)
	}
	if r := ForcedTunnel(NewTable([]Route{sys("10.1.0.0/16", HopVnetLocal)})); r.Status != probes.Warn {
		t.Fatalf("no default route: %+v", r)
	}
}

func TestDependencyRoute(t *testing.T) {
	storage := pfx("20.38.96.0/19", "52.239.128.0/17")
	dep := Dependency{Tag: "Storage.westeurope", ServiceEndpoint: "Microsoft.Storage", Port: "443"}
	fw := append(baseRoutes(), udr("fw", "0.0.0.0/0", HopVirtualAppliance, "10.1.255.4"))
	fw[1].State = "Invalid"
	withSE := append(append([]Route{}, fw...),
		Route{Source: "Default", State: "Active", Prefixes: storage, NextHopType: HopServiceEndpoint})

	if r := DependencyRoute(NewTable(baseRoutes()), dep, storage, nil); r.Status != probes.Pass {
		t.Fatalf("direct: %+v", r)
	}
	r := DependencyRoute(NewTable(fw), dep, storage, nil)
	if r.Status != probes.Warn || r.Hint == "" || r.Evidence["service_endpoint_on_subnet"] != false {
		t.Fatalf("via appliance: %+v", r)
	}
	if r := DependencyRoute(NewTable(withSE), dep, storage, []string{"Microsoft.Storage"}); r.Status != probes.Pass {
		t.Fatalf("service endpoint: %+v", r)
	}
	none := append(baseRoutes(), udr("blackhole", "52.239.0.0/16", HopNone))
	if r := DependencyRoute(NewTable(none), dep, storage, nil); r.Status != probes.Fail || r.Reason != probes.ReasonUnreachable {
		t.Fatalf("blackhole: %+v", r)
	}
}
