package judge

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
	"github.com/apimprobe/apimprobe/probes"
)

// Routes learnt over BGP (a VPN or ExpressRoute gateway, a Route Server)
// appear only in effective route tables, never in a route table resource,
// and reach every subnet whose route table does not disable propagation
// (azure-facts §12.3). The documented forced tunnel advertises 0.0.0.0/0
// that way with no user route at all, so the configured view, which reads
// route tables, must not pass a route verdict such a route would change.

// bgpView is what the configured view knows of routes learnt over BGP.
type bgpView struct {
	// disabled: the judged subnet's route table disables propagation, so
	// no BGP route reaches it and the configured view is whole.
	disabled bool
	// why lists what may bring BGP routes to the judged subnet.
	why []string
	// seen: this VM's effective routes stand for them: their BGP routes
	// (learnt) are merged into the view, or they show none while taking
	// propagated routes.
	seen   bool
	learnt []routes.Route
	// tunnel: the wire proved internet-bound traffic leaves this subnet
	// through something other than Azure's edge (route.egress-ip, from a
	// VM in the judged subnet); egressIP is the address it left from.
	tunnel   bool
	egressIP string
	// cli and perm are the effective route read a person can run instead.
	cli, perm string
}

// unseen reports whether BGP routes may reach the judged subnet without
// the view showing them.
func (b *bgpView) unseen() bool { return b != nil && !b.disabled && len(b.why) > 0 && !b.seen }

// bgpOf weighs what may bring BGP routes to the judged subnet: a gateway
// or Route Server in the virtual network, a peering that uses the remote
// network's gateways, this VM's effective routes, and the wire (egress).
func bgpOf(s *snapshot.Snapshot, egress *probes.Result) *bgpView {
	c := s.Configured
	b := &bgpView{cli: "az network nic show-effective-route-table -g RG -n NIC -o table", perm: "Microsoft.Network/networkInterfaces/effectiveRouteTable/action"}
	if r := s.Read(snapshot.ReadEffectiveRoutes); r != nil {
		b.cli, b.perm = r.CLI, r.Permission
	}
	if c.HaveRouteTable && c.BGPDisabled {
		b.disabled = true
		return b
	}
	b.why = append(b.why, c.Gateways...)
	for _, p := range c.Peerings {
		if p.Connected() && p.UseRemoteGateways {
			b.why = append(b.why, "peering "+p.Name+" uses the remote network's gateways")
		}
	}
	// The wire speaks for the judged subnet only when this VM is in it.
	if egress != nil && egress.Status == probes.Warn && egress.Reason == probes.ReasonForcedTunnel {
		ip := nonEmpty(egress.EgressIP, "an address")
		if s.JudgesOtherSubnet() {
			b.why = append(b.why, "this VM's internet-bound traffic leaves from "+ip+", not an Azure address (route.egress-ip), and a default route learnt over BGP would reach the judged subnet too")
		} else {
			b.tunnel, b.egressIP = true, egress.EgressIP
			b.why = append(b.why, "internet-bound traffic from this subnet leaves from "+ip+", not an Azure address (route.egress-ip)")
		}
	}
	if s.Read(snapshot.ReadEffectiveRoutes).OK() {
		propagated := true
		for _, r := range s.Routes {
			if r.DisableBgpRoutePropagation {
				propagated = false
			}
			if strings.EqualFold(r.Source, "VirtualNetworkGateway") && !strings.EqualFold(r.State, "Invalid") {
				r.Name = nonEmpty(r.Name, "learnt over BGP (this VM's effective routes)")
				b.learnt = append(b.learnt, r)
			}
		}
		switch {
		case len(b.learnt) > 0:
			b.seen = true
			b.why = append(b.why, fmt.Sprintf("this VM's effective routes show %d route(s) learnt over BGP, taken here for the judged subnet", len(b.learnt)))
		case propagated:
			// Its subnet takes propagated routes and none came.
			b.seen = true
		}
	}
	return b
}

// note says what the view knows of BGP routes, for the verdict's message.
func (b *bgpView) note() string {
	switch {
	case b.disabled:
		return "the route table disables BGP route propagation, so no route learnt over BGP reaches the subnet"
	case len(b.learnt) > 0:
		return fmt.Sprintf("with the %d route(s) learnt over BGP that this VM's effective routes show (routes learnt over BGP reach every subnet whose route table does not disable propagation)", len(b.learnt))
	case b.seen && len(b.why) > 0:
		return "this VM's effective routes, in a subnet that takes propagated routes, show no route learnt over BGP"
	case len(b.why) == 0:
		return "nothing in the virtual network learns routes over BGP (no gateway, no Route Server, no peering using remote gateways)"
	}
	return "it cannot see routes learnt over BGP, and they may reach the subnet: " + strings.Join(b.why, "; ")
}

// hint is what to run to see the routes the view cannot.
func (b *bgpView) hint(lookFor string) string {
	return fmt.Sprintf("Run `%s` for a VM in a subnet that takes the same propagated routes (or grant %s), and check %s; routes learnt over BGP (source VirtualNetworkGateway) appear only there.",
		b.cli, b.perm, lookFor)
}

// notObservable is the skip for a verdict routes learnt over BGP could
// change.
func (b *bgpView) notObservable(res probes.Result, what, lookFor string) probes.Result {
	out := probes.Skipf(probes.ReasonNotObservable,
		"the configured view alone would say: "+res.Message+"; but "+what+", and the configured view cannot see routes learnt over BGP",
		b.hint(lookFor))
	out.Evidence = res.Evidence
	if out.Evidence == nil {
		out.Evidence = map[string]any{}
	}
	out.Evidence["bgp_may_reach_subnet"] = b.why
	out.Evidence["configured_status"] = string(res.Status)
	return out
}

// carriedByRoutesBGPCannotBeat reports whether every IPv4 prefix goes by a
// route a BGP route of the same or a shorter prefix cannot override: a
// user route, or a system route for the virtual network, a peering or a
// service endpoint. Azure's default 0.0.0.0/0 is not one: a default route
// learnt over BGP replaces it.
func carriedByRoutesBGPCannotBeat(tb *routes.Table, prefixes []netip.Prefix) bool {
	n := 0
	for _, p := range prefixes {
		if !p.Addr().Is4() {
			continue
		}
		n++
		for _, h := range tb.Resolve(p).Hits() {
			r := h.Route
			if strings.EqualFold(r.Source, "User") {
				continue
			}
			if strings.EqualFold(r.Source, "Default") && (r.Is(routes.HopVnetLocal) || r.Is(routes.HopPeering) || r.Is(routes.HopGlobalPeering) || r.Is(routes.HopServiceEndpoint)) {
				continue
			}
			return false
		}
	}
	return n > 0
}

// Wire is what the run's own probes saw that the route analyses take as
// evidence where the configured view cannot see.
type Wire interface {
	// Egress waits, within ctx, for route.egress-ip's result: nil when
	// that check does not run or ctx ends first.
	Egress(ctx context.Context) *probes.Result
}

// forcedTunnel is route.forced-tunnel on a view: with routes learnt over
// BGP unseen, "straight to the Internet" is not observable, and is a
// forced tunnel when the wire shows one (a default route learnt over BGP
// replaces Azure's), with the mode's advice (tunnelFix). A tunnel the
// route table shows stands: a BGP route never brings next hop Internet back.
func forcedTunnel(tb *routes.Table, b *bgpView, mode probes.Mode, lookFor string) probes.Result {
	res := routes.ForcedTunnel(tb)
	if !b.unseen() || res.Status != probes.Pass {
		return res
	}
	if b.tunnel {
		return b.proven(res, probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, fmt.Sprintf(
			"the route table leaves internet-bound traffic to Azure's default route, yet it leaves from %s, not an Azure address: "+
				"a default route the configured view cannot see carries it, most likely one learnt over BGP",
			nonEmpty(b.egressIP, "a non-Azure address"))),
			tunnelFix(mode)+" ", lookFor)
	}
	return b.notObservable(res, "a default route learnt over BGP would replace Azure's", lookFor)
}

// managementReturn is route.management-return on a view. Replies to the
// control plane follow the subnet's routes; unless user routes carry every
// ApiManagement prefix to the Internet, a default route learnt over BGP
// takes them. With that unseen the verdict is not observable, and a
// failure when the wire shows the tunnel.
func managementReturn(tb *routes.Table, prefixes []netip.Prefix, b *bgpView, lookFor string) probes.Result {
	res := routes.ManagementReturn(tb, prefixes)
	if !b.unseen() || res.Status != probes.Pass || carriedByRoutesBGPCannotBeat(tb, prefixes) {
		return res
	}
	if b.tunnel {
		return b.proven(res, probes.Failf(probes.ReasonAsymmetricRoute, probes.PhaseAnalysis, fmt.Sprintf(
			"internet-bound traffic from this subnet leaves from %s, not an Azure address, and no route of the subnet's route table sends the ApiManagement prefixes to the Internet: "+
				"replies to management traffic on 3443 follow the tunnel and are dropped (the tunnel's route is one the configured view cannot see)",
			nonEmpty(b.egressIP, "a non-Azure address"))),
			"Add a route with address prefix service tag ApiManagement and next hop type Internet to the route table associated with the subnet (a user route beats one learnt over BGP). ", lookFor)
	}
	return b.notObservable(res, "Azure's default route carries the ApiManagement prefixes, and a default route learnt over BGP would replace it", lookFor)
}

// dependencyRoute is route.dependency.* on a view: "leaves directly" over
// Azure's default route is not observable with routes learnt over BGP
// unseen, a tunnel when the wire shows one; a service endpoint's system
// routes and user routes win over BGP routes, so those passes stand.
func dependencyRoute(res probes.Result, tb *routes.Table, prefixes []netip.Prefix, endpoint string, subnetEndpoints []string, b *bgpView, lookFor string) probes.Result {
	if !b.unseen() || res.Status != probes.Pass || carriedByRoutesBGPCannotBeat(tb, prefixes) {
		return res
	}
	if endpoint != "" && wire.ContainsFold(subnetEndpoints, endpoint) {
		res.Message += "; the subnet's " + endpoint + " service endpoint adds system routes that win over routes learnt over BGP"
		return res
	}
	if b.tunnel {
		out := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, fmt.Sprintf(
			"Azure's default route carries these prefixes in the route table, yet internet-bound traffic from this subnet leaves from %s, not an Azure address: a route the configured view cannot see takes them",
			nonEmpty(b.egressIP, "a non-Azure address")))
		out.Evidence = res.Evidence
		out.Evidence["bgp_may_reach_subnet"] = b.why
		out.Hint = "Enable the subnet's service endpoint for this dependency, add a route for its service tag with next hop Internet, or make sure the tunnel's firewall allows it. " + b.hint(lookFor)
		return out
	}
	return b.notObservable(res, "Azure's default route carries these prefixes, and a default route learnt over BGP would replace it", lookFor)
}

// proven is the verdict out when the wire proves the tunnel the configured
// view cannot see: the view's evidence, what proves it, and the fix (fix)
// followed by where to see the routes.
func (b *bgpView) proven(res, out probes.Result, fix, lookFor string) probes.Result {
	out.Evidence = res.Evidence
	out.Evidence["bgp_may_reach_subnet"] = b.why
	out.Evidence["egress_ip"] = b.egressIP
	out.Hint = fix + b.hint(lookFor)
	return out
}
