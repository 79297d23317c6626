package routes

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// maxExamples bounds how many offending prefixes a result lists as evidence.
const maxExamples = 10

// ForcedTunnel judges how Internet-bound traffic leaves (route.forced-tunnel):
// over the whole Internet-bound IPv4 space, not one 0.0.0.0/0 entry, since
// 0.0.0.0/1 + 128.0.0.0/1 to an appliance force it as surely as 0.0.0.0/0.
// Whichever way most of that space goes decides: the Internet is the plain
// setup; a virtual appliance or gateway means forced tunnelling, which API
// Management supports only with the return route and service endpoints that
// the other route checks verify, so it is a warning; next hop None or no
// route drops it.
func ForcedTunnel(t *Table) probes.Result {
	all, _ := t.InternetBound()
	b := splitInternetBound(all)
	ev := b.evidence()
	main := b.by[b.win]
	switch {
	case b.win == classDropped && (len(main) == 0 || main[0].Route == nil):
		res := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis,
			"the effective route table has no default route (0.0.0.0/0): internet-bound traffic is dropped")
		res.Evidence = ev
		res.Hint = "Add a default route (0.0.0.0/0) with next hop Internet, or to the firewall that must carry API Management's outbound traffic, in the route table associated with the subnet."
		return t.noteUnresolved(res)
	case b.win == classDirect:
		res := probes.Passf("default route goes straight to the Internet: " + describeCarriers(main, 3) + b.elsewhere())
		res.Evidence = ev
		return t.noteUnresolved(res)
	case b.win == classDropped:
		res := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis,
			"the default route drops internet-bound traffic: "+describeCarriers(main, 3)+b.elsewhere())
		res.Evidence = ev
		res.Hint = "Change route " + nameOr(main[0].Route, main[0].Prefix.String()) + " to next hop Internet or to the firewall; with next hop None API Management cannot reach any of its dependencies outside the VNet."
		return t.noteUnresolved(res)
	}
	res := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis,
		"internet-bound traffic is forced through "+hopNames(main)+": "+describeCarriers(main, 3)+b.elsewhere())
	res.Evidence = ev
	res.Hint = "Forced tunnelling works only with a route for service tag ApiManagement with next hop Internet and service endpoints (or firewall rules) for Storage, Sql, AzureKeyVault and AzureMonitor; see the route.management-return and route.dependency.* checks."
	return t.noteUnresolved(res)
}

// internetBound is the Internet-bound IPv4 space by the way it leaves:
// the carriers (the platform's reserved None routes apart), their
// addresses by egress class, and the class that carries the most (win).
type internetBound struct {
	carriers []Carrier
	reserved []string
	total    uint64
	by       [4][]Carrier
	addrs    [4]uint64
	win      egressClass
}

func splitInternetBound(all []Carrier) internetBound {
	var b internetBound
	// The platform's reserved None routes carry space no Internet-bound
	// traffic is meant for: evidence, not a share of the verdict.
	for _, c := range all {
		if c.Route.Reserved() {
			b.reserved = append(b.reserved, c.Route.Describe(c.Prefix))
			continue
		}
		b.carriers = append(b.carriers, c)
		b.total += c.Addrs
	}
	for _, c := range b.carriers {
		k := classify(c.Route)
		b.by[k] = append(b.by[k], c)
		b.addrs[k] += c.Addrs
	}
	b.win = classDirect
	for _, k := range []egressClass{classTunnelled, classDropped} {
		if b.addrs[k] > b.addrs[b.win] {
			b.win = k
		}
	}
	return b
}

// evidence is the split as the check shows it: each next hop's share, the
// routes that carry the space, and the winning class's route.
func (b internetBound) evidence() map[string]any {
	ev := map[string]any{}
	if len(b.reserved) > 0 {
		sort.Strings(b.reserved)
		ev["reserved_routes"] = b.reserved
	}
	hopAddrs := map[string]uint64{}
	for _, c := range b.carriers {
		hop := "no route"
		if c.Route != nil {
			hop = c.Route.NextHopType
		}
		hopAddrs[hop] += c.Addrs
	}
	share := map[string]string{}
	for h, n := range hopAddrs {
		share[h] = percent(n, b.total)
	}
	ev["internet_bound_by_next_hop"] = share
	var carrying []string
	for i, c := range b.carriers {
		if i == maxExamples {
			break
		}
		carrying = append(carrying, c.Route.Describe(c.Prefix)+" carries "+percent(c.Addrs, b.total))
	}
	ev["internet_bound_routes"] = carrying
	if main := b.by[b.win]; len(main) > 0 && main[0].Route != nil {
		r := main[0].Route
		ev["default_route"] = describeCarriers(main, 3)
		ev["next_hop_type"] = r.NextHopType
		if len(r.NextHopIPs) > 0 {
			ev["next_hop_ip"] = r.NextHopIPs
		}
	}
	return ev
}

// elsewhere says how much of the space goes another way than the winning
// class (private destinations apart), or "".
func (b internetBound) elsewhere() string {
	var rest []Carrier
	for k := range b.by {
		if egressClass(k) != b.win && egressClass(k) != classPrivate {
			rest = append(rest, b.by[k]...)
		}
	}
	if len(rest) == 0 {
		return ""
	}
	var n uint64
	for _, c := range rest {
		n += c.Addrs
	}
	return fmt.Sprintf("; %s of it goes elsewhere (%s)", percent(n, b.total), describeCarriers(rest, 3))
}

func percent(n, total uint64) string {
	if total == 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(total)
	switch {
	case p > 99.95 && n < total:
		return ">99.9%"
	case p < 0.05 && n > 0:
		return "<0.1%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func hopNames(cs []Carrier) string {
	seen := map[string]bool{}
	var hs []string
	for _, c := range cs {
		if c.Route != nil && !seen[c.Route.NextHopType] {
			seen[c.Route.NextHopType] = true
			hs = append(hs, c.Route.NextHopType)
		}
	}
	return strings.Join(hs, " and ")
}

// noteUnresolved says, in the message and the evidence, which service-tag
// routes took no part in the analysis because their prefixes are unknown.
func (t *Table) noteUnresolved(res probes.Result) probes.Result {
	if len(t.unresolved) == 0 {
		return res
	}
	var ds []string
	for _, r := range t.unresolved {
		tags := r.Unresolved
		if len(tags) == 0 {
			tags = r.ServiceTags
		}
		ds = append(ds, nameOr(r, "(unnamed)")+" for "+strings.Join(tags, ",")+" → "+r.NextHopType)
	}
	if res.Evidence == nil {
		res.Evidence = map[string]any{}
	}
	res.Evidence["unresolved_tag_routes"] = ds
	res.Message += fmt.Sprintf(" (%d service-tag route(s) not judged, their prefixes are unknown: %s)", len(ds), strings.Join(ds, "; "))
	if res.Hint != "" {
		res.Hint += " Pass --service-tags with a current ServiceTags file so every service-tag route can be expanded."
	}
	return res
}

func nameOr(r *Route, def string) string {
	if r != nil && r.Name != "" {
		return r.Name
	}
	return def
}

// TagRouting is how the prefixes of one service tag are routed.
type TagRouting struct {
	Tag string
	// Checked counts the prefixes analysed; SkippedIPv6 those left out
	// because the table has no IPv6 routes (the VM cannot send IPv6).
	Checked, SkippedIPv6 int
	// ByHop counts routes carrying (part of) a tag prefix, by next hop type.
	ByHop map[string]int
	// Offending lists prefixes (part of which are) routed through a next hop
	// outside the allowed set, each with the route that takes it.
	Offending []Offense
	// Unrouted lists prefixes no route carries at all.
	Unrouted []netip.Prefix
}

// Offense is one tag prefix and the route that carries it the wrong way.
type Offense struct {
	Dest        netip.Prefix
	RoutePrefix netip.Prefix
	Route       *Route
}

func (o Offense) String() string { return o.Dest.String() + " via " + o.Route.Describe(o.RoutePrefix) }

// RouteTag matches every prefix of a tag over the table; next hops in allowed
// are fine, any other hop is an offense.
func RouteTag(t *Table, tag string, prefixes []netip.Prefix, allowed ...string) TagRouting {
	tr := TagRouting{Tag: tag, ByHop: map[string]int{}}
	for _, p := range prefixes {
		if p.Addr().Is6() && !t.HasFamily(true) {
			tr.SkippedIPv6++
			continue
		}
		tr.Checked++
		m := t.Resolve(p)
		hits := m.Hits()
		if len(hits) == 0 {
			tr.Unrouted = append(tr.Unrouted, p)
			continue
		}
		for _, h := range hits {
			tr.ByHop[h.Route.NextHopType]++
			if !hopIn(h.Route, allowed) {
				tr.Offending = append(tr.Offending, Offense{Dest: p, RoutePrefix: h.Prefix, Route: h.Route})
			}
		}
	}
	return tr
}

func hopIn(r *Route, allowed []string) bool {
	for _, a := range allowed {
		if r.Is(a) {
			return true
		}
	}
	return false
}

func (tr TagRouting) evidence() map[string]any {
	ev := map[string]any{
		"service_tag":        tr.Tag,
		"prefixes_checked":   tr.Checked,
		"next_hops":          tr.ByHop,
		"prefixes_offending": len(tr.Offending),
	}
	if tr.SkippedIPv6 > 0 {
		ev["ipv6_prefixes_ignored"] = tr.SkippedIPv6
	}
	if len(tr.Offending) > 0 {
		ex := make([]string, 0, maxExamples)
		for i, o := range tr.Offending {
			if i == maxExamples {
				break
			}
			ex = append(ex, o.String())
		}
		ev["examples"] = ex
	}
	if len(tr.Unrouted) > 0 {
		ev["prefixes_unrouted"] = len(tr.Unrouted)
	}
	return ev
}

// offendingRoutes names the distinct routes that cause offenses, for hints.
func (tr TagRouting) offendingRoutes() string {
	seen := map[string]bool{}
	var names []string
	for _, o := range tr.Offending {
		n := o.Route.Describe(o.RoutePrefix)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("and %d more", len(names)-3))
	}
	return strings.Join(names, "; ")
}

// ManagementReturn judges route.management-return for the classic modes:
// API Management's control plane connects to port 3443 from the
// ApiManagement service tag's addresses, and the replies follow the subnet's
// routes. Any tag prefix whose route is not Internet sends replies through an
// appliance that never saw the request, which drops them.
func ManagementReturn(t *Table, prefixes []netip.Prefix) probes.Result {
	tr := RouteTag(t, "ApiManagement", prefixes, HopInternet)
	ev := tr.evidence()
	if tr.Checked == 0 {
		return probes.Skipf(probes.ReasonNoData, "the ApiManagement service tag has no IPv4 prefixes to check",
			"Pass --service-tags with a current ServiceTags_Public JSON file so the ApiManagement prefixes are known.")
	}
	if len(tr.Offending) == 0 && len(tr.Unrouted) == 0 {
		res := probes.Passf(fmt.Sprintf("all %d ApiManagement prefixes route to the Internet: replies to management traffic on 3443 return symmetrically", tr.Checked))
		res.Evidence = ev
		return t.noteUnresolved(res)
	}
	res := probes.Failf(probes.ReasonAsymmetricRoute, probes.PhaseAnalysis,
		fmt.Sprintf("%d of %d ApiManagement prefixes route elsewhere than the Internet (%s): replies to management traffic on 3443 leave through that hop and are dropped",
			len(tr.Offending)+len(tr.Unrouted), tr.Checked, tr.offendingRoutes()))
	res.Evidence = ev
	res.Hint = "Add a route with address prefix service tag ApiManagement and next hop type Internet to the route table associated with the subnet, so replies to the control plane on 3443 bypass the appliance."
	return t.noteUnresolved(res)
}

// Dependency describes one outbound dependency for route.dependency.*.
type Dependency struct {
	// Tag is the service tag ("Storage.westeurope" or "Storage").
	Tag string
	// ServiceEndpoint is the subnet service endpoint that keeps the traffic
	// on the Azure backbone ("Microsoft.Storage"); empty when none exists
	// (Azure Monitor).
	ServiceEndpoint string
	// Port is the dependency's port, for hints.
	Port string
}

// DependencyRoute judges how traffic to a dependency's tag prefixes leaves:
// straight to the Internet or over the service endpoint is fine; through a
// virtual appliance or gateway it works only when the appliance lets it
// through, so it warns and names the service endpoint that avoids the
// appliance; a next hop None drops it.
func DependencyRoute(t *Table, dep Dependency, prefixes []netip.Prefix, subnetEndpoints []string) probes.Result {
	tr := RouteTag(t, dep.Tag, prefixes, HopInternet, HopServiceEndpoint)
	ev := tr.evidence()
	hasEndpoint := false
	for _, e := range subnetEndpoints {
		if dep.ServiceEndpoint != "" && strings.EqualFold(e, dep.ServiceEndpoint) {
			hasEndpoint = true
		}
	}
	if dep.ServiceEndpoint != "" {
		ev["service_endpoint"] = dep.ServiceEndpoint
		ev["service_endpoint_on_subnet"] = hasEndpoint
	}
	if tr.Checked == 0 {
		return probes.Skipf(probes.ReasonNoData, "service tag "+dep.Tag+" has no IPv4 prefixes to check",
			"Pass --service-tags with a current ServiceTags_Public JSON file so the "+dep.Tag+" prefixes are known.")
	}
	var dropped []Offense
	for _, o := range tr.Offending {
		if o.Route.Is(HopNone) {
			dropped = append(dropped, o)
		}
	}
	if len(dropped) > 0 || len(tr.Unrouted) > 0 {
		res := probes.Failf(probes.ReasonUnreachable, probes.PhaseAnalysis,
			fmt.Sprintf("%d of %d %s prefixes have no usable route (next hop None or no route): %s",
				len(dropped)+len(tr.Unrouted), tr.Checked, dep.Tag, tr.offendingRoutes()))
		res.Evidence = ev
		res.Hint = fmt.Sprintf("Remove or change the route with next hop None that covers %s prefixes, or add a route for service tag %s with next hop Internet.", dep.Tag, dep.Tag)
		return t.noteUnresolved(res)
	}
	if len(tr.Offending) == 0 {
		res := probes.Passf(fmt.Sprintf("all %d %s prefixes leave directly (next hops %s)", tr.Checked, dep.Tag, hopList(tr.ByHop)))
		res.Evidence = ev
		return t.noteUnresolved(res)
	}
	res := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis,
		fmt.Sprintf("%d of %d %s prefixes go through %s", len(tr.Offending), tr.Checked, dep.Tag, tr.offendingRoutes()))
	res.Evidence = ev
	switch {
	case dep.ServiceEndpoint == "":
		res.Hint = fmt.Sprintf("Add a route for service tag %s with next hop Internet, or make sure the appliance allows TCP %s to %s (there is no service endpoint for it).", dep.Tag, dep.Port, dep.Tag)
	case hasEndpoint:
		res.Hint = fmt.Sprintf("The subnet has the %s service endpoint but the effective routes do not use it yet; check it is provisioned for this region, or allow TCP %s to %s on the appliance.", dep.ServiceEndpoint, dep.Port, dep.Tag)
	default:
		res.Hint = fmt.Sprintf("Enable the %s service endpoint on the subnet (or allow TCP %s to %s on the appliance) so this dependency does not depend on the firewall.", dep.ServiceEndpoint, dep.Port, dep.Tag)
	}
	return t.noteUnresolved(res)
}

func hopList(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
