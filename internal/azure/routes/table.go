// Package routes analyses a NIC's effective route table as Resource Manager
// returns it: which route carries traffic to an address or a whole prefix
// (longest prefix match with Azure's tie-breaks), and from that whether the
// subnet is force-tunnelled, whether replies to API Management's control
// plane return the way they came, and how traffic to the Azure dependencies
// leaves.
package routes

import (
	"net/netip"
	"sort"
	"strings"
)

// Next hop types as Resource Manager spells them. The SDK's enum does not
// list every value that appears in effective routes (azure-facts §11.2), so
// they are compared as open strings.
const (
	HopInternet         = "Internet"
	HopVirtualAppliance = "VirtualAppliance"
	HopGateway          = "VirtualNetworkGateway"
	HopVnetLocal        = "VnetLocal"
	HopNone             = "None"
	HopPeering          = "VNetPeering"
	HopGlobalPeering    = "VNetGlobalPeering"
	// HopServiceEndpoint: service endpoints, as Default routes with long
	// prefix lists.
	HopServiceEndpoint = "VirtualNetworkServiceEndpoint"
	// HopInterfaceEndpoint: a private endpoint's /32.
	HopInterfaceEndpoint = "InterfaceEndpoint"
	// HopConnectedGroup: Azure Virtual Network Manager's connected groups.
	HopConnectedGroup = "ConnectedGroup"
	// HopVirtualApplianceEcmp: several appliances sharing a prefix (ECMP);
	// as much an appliance as HopVirtualAppliance.
	HopVirtualApplianceEcmp = "VirtualApplianceEcmp"
)

// Route is one entry of an effective route table.
type Route struct {
	Name string
	// Source: User (a UDR), VirtualNetworkGateway (BGP), Default (system).
	Source string
	// State: Active or Invalid (overridden); Invalid routes are ignored.
	State       string
	Prefixes    []netip.Prefix
	NextHopType string
	NextHopIPs  []string
	// ServiceTags names the service tags a user-defined route was written
	// for ("ApiManagement"): from destinationServiceTags, or a tag name in
	// addressPrefix. Empty for a route to an explicit prefix.
	ServiceTags []string
	// TagPrefixes is Resource Manager's tagMap: each tag's prefixes, when it
	// listed them.
	TagPrefixes map[string][]netip.Prefix
	// Unresolved lists tags of ServiceTags whose prefixes are unknown (no
	// CIDRs in the answer, and not in the service tag set): the route takes
	// part in no lookup, and the analyses say so.
	Unresolved []string
	// HasBgpOverride and DisableBgpRoutePropagation are reported as
	// Resource Manager gives them.
	HasBgpOverride             bool
	DisableBgpRoutePropagation bool
}

// IsTagRoute reports whether the route was written for a service tag.
func (r *Route) IsTagRoute() bool { return r != nil && len(r.ServiceTags) > 0 }

// Reserved reports whether r is one of the platform's reserved routes that
// every VM's effective table carries (azure-facts §12.4): a Default route
// with next hop None, for RFC 1918, 100.64.0.0/10 and Microsoft-reserved
// public ranges (198.18.0.0/15 among them). A more specific route (the
// virtual network's own space, a peering, a user route) overrides one by
// longest match; what is left of it is evidence, never Internet-bound
// traffic forced anywhere.
func (r *Route) Reserved() bool {
	return r != nil && strings.EqualFold(r.Source, "Default") && r.Is(HopNone)
}

// Is reports whether the route's next hop type is hop, ignoring case.
func (r *Route) Is(hop string) bool { return r != nil && strings.EqualFold(r.NextHopType, hop) }

// Describe renders the route for messages: "0.0.0.0/0 → VirtualAppliance 10.0.0.4 (User route fw-default)".
func (r *Route) Describe(p netip.Prefix) string {
	if r == nil {
		return p.String() + " → no route"
	}
	s := p.String() + " → " + r.NextHopType
	if len(r.NextHopIPs) > 0 {
		s += " " + strings.Join(r.NextHopIPs, ",")
	}
	src := r.Source
	if src == "" {
		src = "Unknown"
	}
	s += " (" + src + " route"
	if r.Name != "" {
		s += " " + r.Name
	}
	if len(r.ServiceTags) > 0 {
		s += ", service tag " + strings.Join(r.ServiceTags, ",")
	}
	return s + ")"
}

type entry struct {
	prefix  netip.Prefix
	route   *Route
	tagRank int
}

// Table is an effective route table ready for lookups.
type Table struct {
	entries    []entry
	has4       bool
	has6       bool
	unresolved []*Route
}

// TagRank orders routes to an identical prefix by what they were written
// for (virtual-networks-udr-overview.md, "Service tags for user-defined
// routes"): an explicit prefix (0) beats any service tag; among tags a
// regional tag (1) beats a top-level tag (2), which beats AzureCloud.<region>
// (3), which beats AzureCloud (4).
func TagRank(tag string) int {
	if tag == "" {
		return 0
	}
	base, region, regional := strings.Cut(strings.ToLower(tag), ".")
	switch {
	case base == "azurecloud" && regional && region != "":
		return 3
	case base == "azurecloud":
		return 4
	case regional:
		return 1
	}
	return 2
}

// prefixTagRank is the rank of one prefix of r: the best rank among the tags
// tagMap lists it under, else among the route's tags.
func prefixTagRank(r *Route, p netip.Prefix) int {
	if len(r.ServiceTags) == 0 {
		return 0
	}
	best := -1
	for tag, ps := range r.TagPrefixes {
		for _, q := range ps {
			if q.Masked() == p {
				if rk := TagRank(tag); best < 0 || rk < best {
					best = rk
				}
			}
		}
	}
	if best >= 0 {
		return best
	}
	for _, tag := range r.ServiceTags {
		if rk := TagRank(tag); best < 0 || rk < best {
			best = rk
		}
	}
	return best
}

// ExpandServiceTags returns a copy of rs in which every service-tag route
// that came without CIDRs (the tag name in addressPrefix, no tagMap) has
// its prefixes from lookup; tags lookup does not know are recorded in
// Route.Unresolved, never dropped silently.
func ExpandServiceTags(rs []Route, lookup func(tag string) []netip.Prefix) []Route {
	out := make([]Route, len(rs))
	copy(out, rs)
	for i := range out {
		r := &out[i]
		if len(r.ServiceTags) == 0 {
			continue
		}
		if explicitCIDRs(r) {
			// Resource Manager expanded the tag into addressPrefix already.
			continue
		}
		var unresolved []string
		var prefixes []netip.Prefix
		tp := make(map[string][]netip.Prefix, len(r.ServiceTags))
		for k, v := range r.TagPrefixes {
			tp[k] = v
		}
		prefixes = append(prefixes, r.Prefixes...)
		for _, tag := range r.ServiceTags {
			if len(tagPrefixesOf(r, tag)) > 0 {
				continue
			}
			var ps []netip.Prefix
			if lookup != nil {
				ps = lookup(tag)
			}
			if len(ps) == 0 {
				unresolved = append(unresolved, tag)
				continue
			}
			tp[tag] = ps
			prefixes = append(prefixes, ps...)
		}
		r.Prefixes, r.TagPrefixes, r.Unresolved = prefixes, tp, unresolved
	}
	return out
}

func tagPrefixesOf(r *Route, tag string) []netip.Prefix {
	for k, v := range r.TagPrefixes {
		if strings.EqualFold(k, tag) {
			return v
		}
	}
	return nil
}

// explicitCIDRs: the route's addressPrefix held CIDRs beyond those tagMap
// lists, so Resource Manager did expand its tags itself.
func explicitCIDRs(r *Route) bool {
	inMap := map[netip.Prefix]bool{}
	for _, ps := range r.TagPrefixes {
		for _, p := range ps {
			inMap[p.Masked()] = true
		}
	}
	for _, p := range r.Prefixes {
		if !inMap[p.Masked()] {
			return true
		}
	}
	return false
}

// Unresolved returns the service-tag routes whose prefixes are (partly)
// unknown, so they took no part in lookups.
func (t *Table) Unresolved() []*Route { return t.unresolved }

// NewTable indexes the active routes; routes in state Invalid (overridden by
// another route, as Azure marks them) take no part in lookups.
func NewTable(rs []Route) *Table {
	t := &Table{}
	for i := range rs {
		r := &rs[i]
		if strings.EqualFold(r.State, "Invalid") {
			continue
		}
		if len(r.Unresolved) > 0 || (len(r.ServiceTags) > 0 && len(r.Prefixes) == 0) {
			t.unresolved = append(t.unresolved, r)
		}
		for _, p := range r.Prefixes {
			p = p.Masked()
			t.entries = append(t.entries, entry{p, r, prefixTagRank(r, p)})
			if p.Addr().Is4() {
				t.has4 = true
			} else {
				t.has6 = true
			}
		}
	}
	// Longest prefixes first so that the first containing entry is the
	// longest match; ties ordered by source rank, then (among user routes)
	// explicit prefix before service tag, regional tag before global.
	sort.SliceStable(t.entries, func(i, j int) bool {
		a, b := t.entries[i], t.entries[j]
		if a.prefix.Bits() != b.prefix.Bits() {
			return a.prefix.Bits() > b.prefix.Bits()
		}
		if sa, sb := sourceRank(a.route), sourceRank(b.route); sa != sb {
			return sa < sb
		}
		return a.tagRank < b.tagRank
	})
	return t
}

// HasFamily reports whether the table routes IPv6 (v6 true) or IPv4 at all;
// a VM without IPv6 routes cannot send IPv6, so IPv6 tag prefixes are moot.
func (t *Table) HasFamily(v6 bool) bool {
	if v6 {
		return t.has6
	}
	return t.has4
}

// On equal prefixes Azure prefers a user-defined route, then BGP, then the
// system route.
func sourceRank(r *Route) int {
	switch strings.ToLower(r.Source) {
	case "user":
		return 0
	case "virtualnetworkgateway":
		return 1
	case "default":
		return 2
	}
	return 3
}

// System routes for the virtual network, peerings and service endpoints win
// even over more specific BGP routes (Azure's documented exception).
func preferredSystem(r *Route) bool {
	if !strings.EqualFold(r.Source, "Default") {
		return false
	}
	for _, h := range []string{HopVnetLocal, HopPeering, HopGlobalPeering, HopServiceEndpoint} {
		if r.Is(h) {
			return true
		}
	}
	return false
}

// covering returns the route that carries all of dest: the longest active
// prefix containing dest, with Azure's tie-breaks.
func (t *Table) covering(dest netip.Prefix) (*Route, netip.Prefix, bool) {
	var best *entry
	for i := range t.entries {
		e := &t.entries[i]
		if e.prefix.Addr().Is4() != dest.Addr().Is4() {
			continue
		}
		if e.prefix.Bits() <= dest.Bits() && e.prefix.Contains(dest.Addr()) {
			best = e
			break
		}
	}
	if best == nil {
		return nil, netip.Prefix{}, false
	}
	if strings.EqualFold(best.route.Source, "VirtualNetworkGateway") {
		for i := range t.entries {
			e := &t.entries[i]
			if e.prefix.Addr().Is4() == dest.Addr().Is4() && e.prefix.Bits() <= dest.Bits() &&
				e.prefix.Contains(dest.Addr()) && preferredSystem(e.route) {
				return e.route, e.prefix, true
			}
		}
	}
	return best.route, best.prefix, true
}

// Lookup returns the route that carries packets to addr.
func (t *Table) Lookup(addr netip.Addr) (*Route, netip.Prefix, bool) {
	return t.covering(netip.PrefixFrom(addr, addr.BitLen()))
}

// Hit is one route taking part in carrying a destination prefix.
type Hit struct {
	Prefix netip.Prefix // the route's prefix
	Route  *Route
}

// Match says how a destination prefix is routed: Covering carries the whole
// prefix except the parts that more specific routes (Inside) take.
type Match struct {
	Dest     netip.Prefix
	Covering *Hit
	Inside   []Hit
}

// Hits returns the covering hit (if any) followed by the inside hits.
func (m Match) Hits() []Hit {
	var out []Hit
	if m.Covering != nil {
		out = append(out, *m.Covering)
	}
	return append(out, m.Inside...)
}

// Resolve matches a whole destination prefix, such as one prefix of a
// service tag, against the table.
func (t *Table) Resolve(dest netip.Prefix) Match {
	dest = dest.Masked()
	m := Match{Dest: dest}
	if r, p, ok := t.covering(dest); ok {
		m.Covering = &Hit{Prefix: p, Route: r}
	}
	for _, e := range t.entries {
		if e.prefix.Addr().Is4() == dest.Addr().Is4() && e.prefix.Bits() > dest.Bits() && dest.Contains(e.prefix.Addr()) {
			m.Inside = append(m.Inside, Hit{Prefix: e.prefix, Route: e.route})
		}
	}
	return m
}
