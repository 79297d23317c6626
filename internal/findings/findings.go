// Package findings turns a run's verdicts into a diagnosis: it correlates
// the checks' typed results into root causes — a resolver that does not
// answer, one NSG rule that denies several flows, one appliance on every
// path — each named once, with the checks it explains and the fix, filled
// with the values the run knows. Checks keep their own hints; a check no
// finding explains is still reported on its own.
//
// Every rule reads the typed fields of probes.Result (Lookups, Rule, Cert,
// Appliance, EgressIP, NeedsARM) and the check's facets (area, role,
// dependency, service tag, protocol), never the report's evidence maps and
// never a check's id.
package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// Input is what the rules look at.
type Input struct {
	Outcomes []probes.Outcome
	// Context is the report's context: service, mode, resource group,
	// subscription, resolvers.
	Context report.Context
	// Azure is what Resource Manager told about the subnet; zero when it
	// was not read.
	Azure Azure
	// APIMSuffix is the cloud's gateway domain (azure-api.net).
	APIMSuffix string
}

// Azure holds the resource ids the fixes name when Resource Manager gave
// them.
type Azure struct {
	SubnetID, RouteTableID, NSGID string
}

// Rule ids, stable: scripts match on them.
const (
	IDResolverSilent   = "dns.resolver-silent"
	IDResolverNoFwd    = "dns.resolver-no-forward"
	IDZoneNotLinked    = "dns.zone-not-linked"
	IDZoneSwallows     = "dns.zone-swallows-domain"
	IDNSGRule          = "subnet.nsg-rule-denies"
	IDNoEgress         = "route.no-internet-egress"
	IDTagDropped       = "outbound.service-tag-dropped"
	IDAppliance        = "route.appliance-on-path"
	IDForcedTunnel     = "route.egress-not-azure"
	IDTLSInspection    = "tls.inspection"
	IDResourceManager  = "context.arm-unreadable"
	IDNoNetwork        = "network.unreachable"
	IDNoResolver       = "dns.no-server-answers"
	IDConnDropped      = "outbound.connections-dropped"
	IDAlone            = "check.on-its-own"
	minSameServer      = 2 // names failing alike at one server before it is the cause
	minInspectedHosts  = 2
	minNoEgressTargets = 3 // dependencies failing alike before all of a protocol's traffic is the cause
	minNoNetwork       = 3 // destinations unreachable before the network is the cause
)

// rule is one correlation. It sees the outcomes not yet claimed by an
// earlier rule (claimed), so that the more specific cause wins and a check is
// explained once.
type rule func(in *Input, claimed map[string]bool) []report.Finding

// rules run in this order: causes that explain many checks at once and
// precisely first.
var rules = []rule{
	modeRule,
	nicNSGRule,
	noNetworkRule,
	resolverRule,
	zoneNotLinkedRule,
	zoneSwallowsRule,
	nsgRule,
	instancePathRule,
	backendUnreachableRule,
	connectionsDroppedRule,
	tagDroppedRule,
	applianceRule,
	forcedTunnelRule,
	tlsInspectionRule,
	armRule,
	aloneRule,
}

// Diagnose runs every rule and returns the findings ranked: most severe
// first, then by how many required failures each explains (the first is
// the run's headline cause), then by how many checks. A rule sees only the
// checks no earlier rule explained, so that what follows from a general
// cause (every DNS failure once the network is unreachable) is folded
// under it rather than named again.
func Diagnose(in Input) []report.Finding {
	claimed := map[string]bool{}
	out := []report.Finding{}
	for _, r := range rules {
		for _, f := range r(&in, claimed) {
			sort.Strings(f.Checks)
			for _, id := range f.Checks {
				claimed[id] = true
			}
			out = append(out, f)
		}
	}
	requiredFail := map[string]bool{}
	for _, o := range in.Outcomes {
		if o.Check.Required && o.Result.Status == probes.Fail {
			requiredFail[o.Check.ID] = true
		}
	}
	explains := func(f report.Finding) int {
		n := 0
		for _, id := range f.Checks {
			if requiredFail[id] {
				n++
			}
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := severityRank(out[i].Severity), severityRank(out[j].Severity); a != b {
			return a < b
		}
		if a, b := explains(out[i]), explains(out[j]); a != b {
			return a > b
		}
		return len(out[i].Checks) > len(out[j].Checks)
	})
	return out
}

// Cover is how much of a run's failures and warnings the findings explain.
type Cover struct {
	// Bad counts the checks that failed or warned, Explained those a
	// finding names.
	Bad, Explained int
	// Required and RequiredExplained count the required failures alone.
	Required, RequiredExplained int
}

// Ratio is Explained over Bad (1 when nothing failed); RequiredRatio the
// same for the required failures.
func (c Cover) Ratio() float64 { return ratio(c.Explained, c.Bad) }

func (c Cover) RequiredRatio() float64 { return ratio(c.RequiredExplained, c.Required) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func (c Cover) String() string {
	return fmt.Sprintf("findings explain %d of %d failures and warnings (%.0f%%), %d of %d required failures (%.0f%%)",
		c.Explained, c.Bad, 100*c.Ratio(), c.RequiredExplained, c.Required, 100*c.RequiredRatio())
}

// Coverage measures a report's findings against its checks.
func Coverage(checks []report.Check, fs []report.Finding) Cover {
	explained := Explained(fs)
	var c Cover
	for _, ch := range checks {
		if ch.Status != probes.Fail && ch.Status != probes.Warn {
			continue
		}
		c.Bad++
		if explained[ch.ID] {
			c.Explained++
		}
		if ch.Required && ch.Status == probes.Fail {
			c.Required++
			if explained[ch.ID] {
				c.RequiredExplained++
			}
		}
	}
	return c
}

// Explained is the set of check ids the findings explain.
func Explained(fs []report.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		for _, id := range f.Checks {
			m[id] = true
		}
	}
	return m
}

func severityRank(s string) int {
	switch s {
	case report.SeverityBlocking:
		return 0
	case report.SeverityDegrading:
		return 1
	}
	return 2
}

func bad(r probes.Result) bool { return r.Status == probes.Fail || r.Status == probes.Warn }

// severityOf is blocking when an explained check is a required failure,
// degrading when any is bad, info otherwise.
func severityOf(os []probes.Outcome) string {
	sev := report.SeverityInfo
	for _, o := range os {
		switch {
		case o.Result.Status == probes.Fail && o.Check.Required:
			return report.SeverityBlocking
		case bad(o.Result):
			sev = report.SeverityDegrading
		}
	}
	return sev
}

// groupBy gathers outcomes under their key, leaving out those key does
// not keep, and returns the keys sorted.
func groupBy(os []probes.Outcome, key func(probes.Outcome) (string, bool)) ([]string, map[string][]probes.Outcome) {
	groups := map[string][]probes.Outcome{}
	var keys []string
	for _, o := range os {
		k, keep := key(o)
		if !keep {
			continue
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], o)
	}
	sort.Strings(keys)
	return keys, groups
}

// ids are the outcomes' check ids, each once (a check of many hosts may
// come as several outcomes).
func ids(os []probes.Outcome) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.Check.ID
	}
	return uniq(out)
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ListOf joins up to max items in words and counts the rest.
func ListOf(items []string, max int) string {
	if len(items) > max {
		return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
	}
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// hostOnly drops the port of a resolver address for prose and commands
// ("10.0.0.4:53" → "10.0.0.4"); other ports stay.
func hostOnly(server string) string {
	return strings.TrimSuffix(server, ":53")
}

// or returns v, or the placeholder when v is unknown.
func or(v, placeholder string) string {
	if v == "" {
		return placeholder
	}
	return v
}

// resourceID splits an ARM id into its resource group and the named
// segments' values ("virtualNetworks" → the VNet's name).
func resourceID(id string) (rg string, seg map[string]string) {
	seg = map[string]string{}
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(parts); i += 2 {
		k, v := strings.ToLower(parts[i]), parts[i+1]
		if k == "resourcegroups" {
			rg = v
		}
		seg[k] = v
	}
	return rg, seg
}
