// Package nsg evaluates network security group rules the way Network
// Watcher's IP flow verify does — rules of one direction in priority order,
// the first matching rule decides — but for flows whose ends are service
// tags (ApiManagement → the subnet on 3443) rather than single addresses.
// A flow from a tag is allowed only when every prefix of the tag is allowed,
// so a higher-priority deny that covers part of the tag shadows the allow.
package nsg

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/wire"
)

// Rule is one effective security rule. Address items are as written in the
// rule ("ApiManagement", "10.0.0.0/24", "*"); Expanded* hold the prefixes
// Resource Manager expanded the rule's tags to, when it did.
type Rule struct {
	Name      string
	Priority  int32
	Direction string // Inbound, Outbound
	// Access: Allow or Deny; security admin rules also AlwaysAllow.
	Access   string
	Protocol string // All, Tcp, Udp, Icmp, *
	// Port items: "*", "443", "1000-2000".
	SourcePorts          []string
	DestinationPorts     []string
	Sources              []string
	Destinations         []string
	ExpandedSources      []netip.Prefix
	ExpandedDestinations []netip.Prefix
}

// String names the rule for messages: "DenyAllInBound (priority 65500, Deny)".
func (r *Rule) String() string {
	return fmt.Sprintf("%s (priority %d, %s)", shortName(r.Name), r.Priority, r.Access)
}

// Effective rules are named "securityRules/x" or "defaultSecurityRules/x".
func shortName(n string) string {
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		return n[i+1:]
	}
	return n
}

// Group is one effective NSG and where it is associated, or the security
// admin rules of an Azure Virtual Network Manager (Scope ScopeNetworkManager,
// ID the network manager's id).
type Group struct {
	ID string
	// Scope is "subnet", "nic" or "network-manager".
	Scope string
	Rules []Rule
}

// ScopeNetworkManager marks a group of AVNM security admin rules: they apply
// to the whole virtual network and are evaluated before any NSG.
const ScopeNetworkManager = "network-manager"

// IsAdmin reports whether the group holds security admin rules.
func (g *Group) IsAdmin() bool { return g.Scope == ScopeNetworkManager }

// AlwaysAllow is the admin-rule access that allows traffic without
// consulting NSGs.
const AlwaysAllow = "AlwaysAllow"

// Name returns the NSG's name from its resource id.
func (g *Group) Name() string { return shortName(g.ID) }

// Endpoint is one end of a flow: a service tag and, when known, its prefixes.
type Endpoint struct {
	// Tag is the service tag ("ApiManagement", "Storage.westeurope",
	// "VirtualNetwork", "Internet"); empty for plain addresses.
	Tag      string
	Prefixes []netip.Prefix
}

func (e Endpoint) String() string {
	if e.Tag != "" {
		return e.Tag
	}
	var s []string
	for _, p := range e.Prefixes {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// Flow is the traffic a check requires.
type Flow struct {
	Direction string // Inbound, Outbound
	Protocol  string // Tcp, Udp
	Port      int
	// PortHi ends a range of ports (6381-6383); 0 means Port alone. A rule
	// that covers only part of the range covers the flow partially.
	PortHi      int
	Source      Endpoint
	Destination Endpoint
	// RequireAll: every address of the ends must be allowed (ApiManagement's
	// control plane may come from any of its prefixes). Off for client
	// traffic from the Internet, where denying some sources is a choice.
	RequireAll bool
}

func (f Flow) String() string {
	return fmt.Sprintf("%s %s %s from %s to %s", f.Direction, strings.ToUpper(f.Protocol), f.Ports(), f.Source, f.Destination)
}

// Ports is the flow's destination port or range as a rule writes it:
// "443", "6381-6383".
func (f Flow) Ports() string {
	if f.PortHi > f.Port {
		return fmt.Sprintf("%d-%d", f.Port, f.PortHi)
	}
	return strconv.Itoa(f.Port)
}

func (f Flow) portRange() (int, int) {
	if f.PortHi > f.Port {
		return f.Port, f.PortHi
	}
	return f.Port, f.Port
}

// Verdict is the outcome of evaluating a flow against one NSG.
type Verdict struct {
	Allowed bool
	// Decisive is the rule that allowed or denied the flow; nil when no rule
	// matched it at all (then it is denied).
	Decisive *Rule
	// PartialDeny: Decisive denies only part of the flow's addresses or
	// ports, which is enough to break a RequireAll flow.
	PartialDeny bool
	// Shadowed lists higher-priority rules that matched part of the flow
	// without deciding it (partial allows, partial denies of client traffic).
	Shadowed []*Rule
}

// Final reports whether a security admin rule's verdict ends the
// evaluation: Deny is final, AlwaysAllow is final (NSGs are not consulted),
// Allow and no match let the NSGs decide (concept-security-admins.md).
func (v Verdict) Final() bool {
	if v.Decisive == nil {
		return false
	}
	return !v.Allowed || strings.EqualFold(v.Decisive.Access, AlwaysAllow)
}

type coverage int

const (
	none coverage = iota
	partial
	full
)

func minCov(cs ...coverage) coverage {
	m := full
	for _, c := range cs {
		if c < m {
			m = c
		}
	}
	return m
}

// Evaluate runs the flow through the group's rules of the flow's direction,
// in priority order.
func Evaluate(g Group, f Flow) Verdict {
	var rules []*Rule
	for i := range g.Rules {
		r := &g.Rules[i]
		if strings.EqualFold(r.Direction, f.Direction) {
			rules = append(rules, r)
		}
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority < rules[j].Priority })
	var v Verdict
	for _, r := range rules {
		c := ruleCoverage(r, f)
		if c == none {
			continue
		}
		deny := strings.EqualFold(r.Access, "Deny")
		switch {
		case deny && (c == full || f.RequireAll):
			v.Decisive, v.PartialDeny = r, c == partial
			return v
		case !deny && c == full:
			v.Allowed, v.Decisive = true, r
			return v
		default:
			v.Shadowed = append(v.Shadowed, r)
		}
	}
	return v
}

func ruleCoverage(r *Rule, f Flow) coverage {
	if !protocolMatches(r.Protocol, f.Protocol) {
		return none
	}
	lo, hi := f.portRange()
	dstPorts := portCoverage(r.DestinationPorts, lo, hi)
	if dstPorts == none {
		return none
	}
	// The flow's source port is ephemeral: a rule limited to some source
	// ports matches only some connections.
	srcPorts := full
	if !anyPort(r.SourcePorts) {
		srcPorts = partial
	}
	return minCov(srcPorts, dstPorts,
		addressCoverage(r.Sources, r.ExpandedSources, f.Source),
		addressCoverage(r.Destinations, r.ExpandedDestinations, f.Destination))
}

func protocolMatches(rule, flow string) bool {
	switch strings.ToLower(rule) {
	case "", "*", "all", "any":
		return true
	}
	return strings.EqualFold(rule, flow)
}

func anyPort(items []string) bool {
	if len(items) == 0 {
		return true
	}
	for _, it := range items {
		if it == "*" || it == "0-65535" || it == "1-65535" {
			return true
		}
	}
	return false
}

// portCoverage says how much of the port range lo-hi a rule's port items
// cover: full when every port is in some item, partial when some are.
func portCoverage(items []string, lo, hi int) coverage {
	if len(items) == 0 {
		return full
	}
	covered := 0
	for p := lo; p <= hi; p++ {
		for _, it := range items {
			a, b, ok := parsePortRange(it)
			if ok && p >= a && p <= b {
				covered++
				break
			}
		}
	}
	switch {
	case covered == hi-lo+1:
		return full
	case covered > 0:
		return partial
	}
	return none
}

func parsePortRange(s string) (int, int, bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return 0, 65535, true
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, false
	}
	if !isRange {
		return lo, lo, true
	}
	hi, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return 0, 0, false
	}
	return lo, hi, true
}

// publicServiceTags are tags whose addresses lie in Azure's public space,
// inside the Internet and AzureCloud tags.
var publicServiceTags = map[string]bool{
	"apimanagement": true, "storage": true, "sql": true, "azurekeyvault": true,
	"azuremonitor": true, "eventhub": true, "azureactivedirectory": true,
	"azureconnectors": true, "azuretrafficmanager": true, "azurecloud": true,
}

// outsideAzureCloud are the global tags known to hold prefixes outside
// AzureCloud (ServiceTags_Public, changeNumber 368).
var outsideAzureCloud = map[string]bool{"storage": true, "azureactivedirectory": true}

func baseTag(t string) string {
	b, _, _ := strings.Cut(strings.ToLower(t), ".")
	return b
}

// addressCoverage says how much of the endpoint a rule's address items
// cover. Names decide first (a rule for the same tag, for its global
// parent, for Internet or AzureCloud over a public service tag); the
// expanded prefixes decide the rest when both sides have prefixes.
func addressCoverage(items []string, expanded []netip.Prefix, ep Endpoint) coverage {
	best := none
	epTag := strings.ToLower(ep.Tag)
	var cidrs []netip.Prefix
	for _, it := range items {
		it = strings.TrimSpace(it)
		l := strings.ToLower(it)
		switch {
		case l == "*" || l == "any" || l == "0.0.0.0/0" || l == "::/0":
			return full
		case epTag != "" && l == epTag:
			return full
		case epTag != "" && strings.Contains(epTag, ".") && l == baseTag(epTag):
			return full // Storage covers Storage.westeurope
		case epTag != "" && l == "internet" && publicServiceTags[baseTag(epTag)]:
			return full
		case epTag != "" && l == "azurecloud" && publicServiceTags[baseTag(epTag)]:
			// AzureCloud holds every regional Storage, Sql and EventHub
			// prefix but not every global one: 23 global Storage and 5
			// AzureActiveDirectory prefixes lie outside it (azure-facts
			// §12.9). With both sides' prefixes known they decide; without,
			// only what is known to lie inside is covered.
			if len(ep.Prefixes) > 0 && len(expanded) > 0 {
				continue
			}
			if strings.Contains(epTag, ".") || !outsideAzureCloud[baseTag(epTag)] {
				return full
			}
			best = max(best, partial)
		case epTag != "" && strings.HasPrefix(l, epTag+"."):
			best = max(best, partial) // ApiManagement.WestEurope is part of ApiManagement
		default:
			if p, ok := wire.ParsePrefix(it); ok {
				cidrs = append(cidrs, p)
			}
		}
	}
	if len(ep.Prefixes) == 0 {
		if len(cidrs) > 0 && epTag != "" && epTag != "virtualnetwork" {
			// Addresses of a tag we could not expand: a CIDR may hit part of it.
			best = max(best, partial)
		}
		return best
	}
	set := append(cidrs, expanded...)
	if len(set) == 0 {
		return best
	}
	return max(best, prefixCoverage(set, ep.Prefixes))
}

// prefixCoverage: full when every wanted prefix lies inside one rule prefix,
// partial when any of them overlaps one.
func prefixCoverage(rule, want []netip.Prefix) coverage {
	allCovered, anyOverlap := true, false
	for _, w := range want {
		covered := false
		for _, r := range rule {
			if r.Addr().Is4() != w.Addr().Is4() {
				continue
			}
			if r.Bits() <= w.Bits() && r.Contains(w.Addr()) {
				covered, anyOverlap = true, true
				break
			}
			if r.Overlaps(w) {
				anyOverlap = true
			}
		}
		if !covered {
			allCovered = false
		}
	}
	switch {
	case allCovered:
		return full
	case anyOverlap:
		return partial
	}
	return none
}
