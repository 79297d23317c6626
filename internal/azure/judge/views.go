package judge

import (
	"net/netip"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The views a route or NSG verdict comes from (its evidence's "view").
const (
	ViewEffective  = "effective"
	ViewConfigured = "configured"
)

// SystemRoutes are Azure's default routes for a virtual network
// (virtual-networks-udr-overview): the address space to the virtual
// network, each connected peering's space to the peering, 0.0.0.0/0 to the
// Internet, and the private and shared ranges with next hop None. A
// reserved range the address space contains is not dropped but the
// network's own ("Azure removes the route for the prefix"); a longer VNet
// prefix inside one wins by longest match. The Microsoft-reserved public
// ranges every real table also drops (azure-facts §12.4) are left out:
// no dependency lives there and they carry no Internet-bound traffic, so
// they change no verdict of the configured view.
func SystemRoutes(c *snapshot.ConfiguredView) []routes.Route {
	out := []routes.Route{
		{Name: "system: default", Source: "Default", State: "Active", NextHopType: routes.HopInternet, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
	}
	var dropped []netip.Prefix
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} {
		p := netip.MustParsePrefix(r)
		if !coveredBy(p, c.VNetPrefixes) {
			dropped = append(dropped, p)
		}
	}
	if len(dropped) > 0 {
		out = append(out, routes.Route{Name: "system: private and shared ranges", Source: "Default", State: "Active", NextHopType: routes.HopNone, Prefixes: dropped})
	}
	if len(c.VNetPrefixes) > 0 {
		out = append(out, routes.Route{Name: "system: virtual network", Source: "Default", State: "Active", NextHopType: routes.HopVnetLocal, Prefixes: c.VNetPrefixes})
	}
	for _, p := range c.Peerings {
		if p.Connected() && len(p.Remote) > 0 {
			out = append(out, routes.Route{Name: "system: peering " + p.Name, Source: "Default", State: "Active", NextHopType: routes.HopPeering, Prefixes: p.Remote})
		}
	}
	return out
}

// coveredBy: p lies inside one of ps.
func coveredBy(p netip.Prefix, ps []netip.Prefix) bool {
	for _, q := range ps {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// view is the routes or NSGs a verdict comes from, and how to say so.
type view struct {
	kind   string // effective or configured
	routes []routes.Route
	groups []nsg.Group
	// note is appended to the verdict's message.
	note string
	// bgp is what the configured route view knows of routes learnt over
	// BGP; nil for the effective view, which shows them.
	bgp *bgpView
	// upper are the configured NSGs with the VirtualNetwork tag's
	// unreadable part taken as everything (nil when all of it was read);
	// vnet is the tag as the view knows it.
	upper []nsg.Group
	vnet  vnetTag
}

// routeView picks the routes to judge: the effective table when it was
// read and describes the judged subnet, else the configured one, with the
// routes learnt over BGP that this VM's effective table shows. egress is
// the wire's word on where internet-bound traffic leaves (route.egress-ip),
// asked only for the configured view. nil with a skip when neither view is
// available.
func routeView(s *snapshot.Snapshot, lookFor string, egress func() *probes.Result) (*view, *probes.Result) {
	eff := s.Read(snapshot.ReadEffectiveRoutes)
	if !s.JudgesOtherSubnet() && eff.OK() {
		return &view{kind: ViewEffective, routes: s.Routes, note: "effective routes of this VM's NIC"}, nil
	}
	if c := s.Configured; s.Read(snapshot.ReadSubnet).OK() && c != nil && len(c.VNetPrefixes) > 0 &&
		(s.Subnet.RouteTableID == "" || c.HaveRouteTable) {
		var wire *probes.Result
		if egress != nil {
			wire = egress()
		}
		b := bgpOf(s, wire)
		rs := append(SystemRoutes(c), c.UDRs...)
		rs = append(rs, b.learnt...)
		src := "Azure's system routes"
		if c.HaveRouteTable {
			src = "route table " + snapshot.ShortID(c.RouteTableID) + " and Azure's system routes"
		}
		note := "configured view of subnet " + s.Subnet.Name + ": " + src + "; " + b.note()
		if why := effectiveWhy(s, eff); why != "" {
			note += "; " + why
		}
		return &view{kind: ViewConfigured, routes: rs, note: note, bgp: b}, nil
	}
	need := snapshot.ReadEffectiveRoutes
	if s.JudgesOtherSubnet() {
		switch {
		case !s.Read(snapshot.ReadSubnet).OK():
			need = snapshot.ReadSubnet
		case s.Subnet.RouteTableID != "" && (s.Configured == nil || !s.Configured.HaveRouteTable):
			need = snapshot.ReadRouteTable
		default:
			need = snapshot.ReadVNet
		}
	}
	return nil, unavailable(s, lookFor, need)
}

// nsgView picks the NSGs to judge, likewise; the NIC's own NSG never
// applies to API Management's machines. The configured view's rules are
// expanded to prefixes here (vnettag.go): with the VirtualNetwork tag's
// known part, and in upper with everything besides when part of it cannot
// be read.
func nsgView(s *snapshot.Snapshot, lookFor string) (*view, *probes.Result) {
	eff := s.Read(snapshot.ReadEffectiveNSGs)
	if !s.JudgesOtherSubnet() && eff.OK() {
		return &view{kind: ViewEffective, groups: s.SubnetGroups(), note: "effective NSGs of this VM's NIC, with security admin rules"}, nil
	}
	if c := s.Configured; s.Read(snapshot.ReadSubnet).OK() && (s.Subnet.NSGID == "" || (c != nil && c.SubnetNSG != nil)) {
		var g *nsg.Group
		src := "no NSG is associated with it"
		if c != nil && c.SubnetNSG != nil {
			g = c.SubnetNSG
			src = "NSG " + c.SubnetNSG.Name()
		}
		lower, upper, t := configuredGroups(s, g)
		note := "configured view of subnet " + s.Subnet.Name + ": " + src + "; it cannot see Azure Virtual Network Manager security admin rules"
		if why := effectiveWhy(s, eff); why != "" {
			note += "; " + why
		}
		return &view{kind: ViewConfigured, groups: lower, upper: upper, vnet: t, note: note}, nil
	}
	need := snapshot.ReadEffectiveNSGs
	if s.JudgesOtherSubnet() {
		need = snapshot.ReadSubnet
		if s.Read(snapshot.ReadSubnet).OK() {
			need = snapshot.ReadSubnetNSG
		}
	}
	return nil, unavailable(s, lookFor, need)
}

// effectiveWhy says why the effective view was not used.
func effectiveWhy(s *snapshot.Snapshot, eff *snapshot.Read) string {
	switch {
	case s.JudgesOtherSubnet():
		return "the effective views describe this VM's NIC in another subnet"
	case eff == nil:
		return ""
	default:
		return "the effective view was not available (" + eff.Name + " read: " + eff.Message + ")"
	}
}

// withView marks a verdict with the view it comes from.
func withView(res probes.Result, v *view) probes.Result {
	if res.Status == probes.Skip && res.Reason == probes.ReasonNoData {
		return res
	}
	res.Message += " [" + v.note + "]"
	if res.Evidence == nil {
		res.Evidence = map[string]any{}
	}
	res.Evidence["view"] = v.kind
	return res
}
