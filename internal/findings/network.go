package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// silentDrop: the connection got no answer (or no route) once the name
// resolved.
func silentDrop(r probes.Result) bool {
	if r.FailedPhase != probes.PhaseConnect && r.FailedPhase != probes.PhaseTLS {
		return false
	}
	return r.Reason == probes.ReasonTimeout || r.Reason == probes.ReasonUnreachable
}

func outbound(o probes.Outcome) bool {
	return o.Check.Area == probes.AreaOutbound && o.Check.Kind.Dials()
}

// nsgRule: one NSG rule (or security admin rule) that denies several
// required flows is named once, with the flows and the dependencies that
// fail for it. Flows denied by different rules are different findings.
func nsgRule(in *Input, claimed map[string]bool) []report.Finding {
	type group struct {
		rule  probes.RuleSeen
		flows []probes.Outcome
	}
	groups := map[string]*group{}
	var keys []string
	for _, o := range in.Outcomes {
		r := o.Result.Rule
		if claimed[o.Check.ID] || !bad(o.Result) || r == nil || r.NIC || r.Access == "Allow" || r.Access == "AlwaysAllow" {
			continue
		}
		k := r.GroupID + "|" + r.Group + "|" + r.Name
		g := groups[k]
		if g == nil {
			g = &group{rule: *r}
			groups[k] = g
			keys = append(keys, k)
		}
		g.flows = append(g.flows, o)
	}
	sort.Strings(keys)
	var out []report.Finding
	for _, k := range keys {
		out = append(out, denyingRule(in, claimed, groups[k].rule, groups[k].flows))
	}
	return out
}

// denyingRule is the finding for one rule r that denies flows: the flows,
// and the dependencies that time out on a port and service tag it denies.
func denyingRule(in *Input, claimed map[string]bool, r probes.RuleSeen, flows []probes.Outcome) report.Finding {
	// Dependencies that time out on a port and service tag the rule
	// denies: the rule is why.
	explained := append([]probes.Outcome(nil), flows...)
	var flowText []string
	for _, fl := range flows {
		fr := fl.Result.Rule
		flowText = append(flowText, fmt.Sprintf("%s %s %d to %s", strings.ToLower(fr.Direction), strings.ToUpper(fr.Protocol), fr.Port, fr.Destination))
		for _, o := range in.Outcomes {
			if claimed[o.Check.ID] || !outbound(o) || !silentDrop(o.Result) || !strings.EqualFold(fr.Direction, "Outbound") {
				continue
			}
			if o.Check.Target.Port == fr.Port && tagCovers(fr.Destination, o.Check.ServiceTag) {
				explained = append(explained, o)
			}
		}
	}
	explained = dedupe(explained)
	what := "NSG " + r.Group
	if r.Admin {
		what = "network manager " + r.Group
	}
	title := fmt.Sprintf("Rule %s in %s denies %s", or(r.Name, "(default deny)"), what, plural(len(flows), "required flow", "required flows"))
	cause := fmt.Sprintf("Rule %s (priority %d) in %s denies %s.", or(r.Name, "DenyAll"), r.Priority, what, ListOf(uniq(flowText), 4))
	if r.Name == "" {
		title = fmt.Sprintf("No rule in %s allows %s", what, plural(len(flows), "required flow", "required flows"))
		cause = fmt.Sprintf("No rule in %s allows %s, so its default rules deny them.", what, ListOf(uniq(flowText), 4))
	}
	return report.Finding{
		ID: IDNSGRule, Severity: severityOf(explained), Title: title, Cause: cause,
		Checks:   ids(explained),
		Evidence: map[string]any{"nsg": r.Group, "rule": r.Name, "priority": r.Priority, "admin": r.Admin, "flows": uniq(flowText)},
		Fix:      denyingRuleFix(in, r, flows),
	}
}

// denyingRuleFix changes a security admin rule (no NSG rule overrides
// it), or adds to the NSG an allow rule per flow before the one that
// denies.
func denyingRuleFix(in *Input, r probes.RuleSeen, flows []probes.Outcome) report.Fix {
	if r.Admin {
		return report.Fix{
			Summary: fmt.Sprintf("Change or remove security admin rule %s in network manager %s, or add an Allow admin rule for these flows with a priority number below %d; an NSG rule cannot override it.", or(r.Name, "<rule>"), r.Group, r.Priority),
			Commands: []string{fmt.Sprintf("az network manager security-admin-config list --resource-group %s --network-manager-name %s",
				rgOf(in, r.GroupID), r.Group)},
		}
	}
	var fix report.Fix
	prio := fitPriority(r.Priority)
	fix.Summary = fmt.Sprintf("Add to NSG %s an allow rule for each flow with priority %s (before %s), or narrow rule %s.", r.Group, prio, or(r.Name, "the default rules"), or(r.Name, "DenyAll"))
	if r.Name == "" {
		fix.Summary = fmt.Sprintf("Add to NSG %s an allow rule for each flow.", r.Group)
	}
	for i, fl := range flows {
		fr := fl.Result.Rule
		p := prio
		if n := prioNum(r.Priority); n > 0 {
			p = fmt.Sprint(n - i)
		}
		fix.Commands = append(fix.Commands, fmt.Sprintf(
			"az network nsg rule create --resource-group %s --nsg-name %s --name Allow-%s-%d --priority %s --direction %s --access Allow --protocol %s --source-address-prefixes %s --destination-address-prefixes %s --destination-port-ranges %d",
			rgOf(in, r.GroupID), r.Group, ruleWord(fr.Destination), fr.Port, p, titleCase(fr.Direction), titleCase(fr.Protocol), fr.Source, fr.Destination, fr.Port))
	}
	return fix
}

// fitPriority is a priority number that wins over a rule of priority p.
func fitPriority(p int) string {
	if n := prioNum(p); n > 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("<below %d>", p)
}

// prioNum is the priority just before p within the user range 100-4096, or
// 0 when none is left.
func prioNum(p int) int {
	switch {
	case p > 4096:
		return 4000
	case p > 100:
		return p - 1
	}
	return 0
}

func rgOf(in *Input, id string) string {
	rg, _ := resourceID(id)
	return or(rg, or(in.Context.ResourceGroup, "<resource-group>"))
}

func ruleWord(s string) string {
	s = strings.NewReplacer(".", "-", "*", "Any", "/", "-", ",", "-").Replace(s)
	return s
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

// tagCovers: a rule's destination tag (Storage.westeurope, Storage, *)
// covers a dependency's tag.
func tagCovers(ruleDest, depTag string) bool {
	if depTag == "" {
		return false
	}
	if ruleDest == "*" || ruleDest == "Internet" {
		return true
	}
	base, _, _ := strings.Cut(ruleDest, ".")
	return strings.EqualFold(base, depTag)
}

func dedupe(os []probes.Outcome) []probes.Outcome {
	seen := map[string]bool{}
	var out []probes.Outcome
	for _, o := range os {
		if !seen[o.Check.ID] {
			seen[o.Check.ID] = true
			out = append(out, o)
		}
	}
	return out
}

// tagDroppedRule: the dependencies behind one service tag time out while
// those behind other tags get through over the same protocol: something
// drops traffic to that tag. A tag with a dependency that gets through on
// the same port is not dropped as a whole.
func tagDroppedRule(in *Input, claimed map[string]bool) []report.Finding {
	tags, byTag := groupBy(in.Outcomes, func(o probes.Outcome) (string, bool) {
		t := o.Check.ServiceTag
		return t, !claimed[o.Check.ID] && outbound(o) && bad(o.Result) && silentDrop(o.Result) && t != "" && t != "Internet"
	})
	var out []report.Finding
	for _, t := range tags {
		hit := byTag[t]
		if !tagAlone(in, t, hit) {
			continue
		}
		var ports []string
		var addrs []string
		for _, o := range hit {
			ports = append(ports, fmt.Sprint(o.Check.Target.Port))
			addrs = append(addrs, o.Result.Addresses...)
		}
		ports = uniq(ports)
		ev := map[string]any{"service_tag": t, "ports": ports, "addresses": capList(uniq(addrs), 10)}
		by := ""
		// A route analysis that names the route dropping the tag.
		for _, o := range in.Outcomes {
			if o.Check.Role == probes.RoleDependencyRoute && bad(o.Result) && o.Result.Reason == probes.ReasonUnreachable &&
				o.Check.ServiceTag == t {
				hit = append(hit, o)
				by = " (" + o.Result.Message + ")"
				ev["route"] = o.Result.Message
			}
		}
		rg, _ := vnetOf(in)
		nsgRG, seg := resourceID(in.Azure.NSGID)
		nsgName := or(seg["networksecuritygroups"], "<nsg>")
		// Which priority fits depends on the NSG's rules, which the run
		// only knows through an NSG analysis (that would have named the rule).
		var cmds []string
		for _, p := range ports {
			cmds = append(cmds, fmt.Sprintf("az network nsg rule create --resource-group %s --nsg-name %s --name Allow-%s-%s --priority <priority> --direction Outbound --access Allow --protocol Tcp --source-address-prefixes VirtualNetwork --destination-address-prefixes %s --destination-port-ranges %s",
				or(nsgRG, rg), nsgName, t, p, t, p))
		}
		out = append(out, report.Finding{
			ID: IDTagDropped, Severity: severityOf(hit),
			Title: "Something drops traffic to " + t,
			Cause: fmt.Sprintf("%s behind service tag %s %s no answer on TCP %s%s, while dependencies behind other service tags get through: an NSG rule, a route or a firewall silently drops traffic to %s.",
				plural(len(byTag[t]), "dependency", "dependencies"), t, map[bool]string{true: "gets", false: "get"}[len(byTag[t]) == 1], strings.Join(ports, ", "), by, t),
			Checks:   ids(hit),
			Evidence: ev,
			Fix: report.Fix{
				Summary:  fmt.Sprintf("Allow outbound TCP %s to service tag %s in the subnet's NSG and in the firewall the route table sends it to (or fix the route that drops it).", strings.Join(ports, ", "), t),
				Commands: cmds,
			},
		})
	}
	return out
}

// through: the connection got an answer (it passed, or failed on what
// came back after its name resolved).
func through(r probes.Result) bool {
	return r.Status == probes.Pass || (bad(r) && r.FailedPhase != probes.PhaseResolve && !silent(r.Reason))
}

// tagAlone: other tags' dependencies get through over the protocols that
// fail here, and none of this tag's gets through on the ports that fail.
func tagAlone(in *Input, tag string, hit []probes.Outcome) bool {
	ports, protos := map[int]bool{}, map[probes.Protocol]bool{}
	for _, o := range hit {
		ports[o.Check.Target.Port], protos[o.Check.Protocol] = true, true
	}
	sibling := false
	for _, o := range in.Outcomes {
		c := o.Check
		if !outbound(o) || !protos[c.Protocol] || !through(o.Result) {
			continue
		}
		if c.ServiceTag == tag && ports[c.Target.Port] {
			return false
		}
		sibling = sibling || c.ServiceTag != tag
	}
	return sibling
}

// applianceRule: one appliance answers on the path of several dependency
// families. With it: where Internet-bound traffic leaves, and the missing
// ApiManagement → Internet route when Resource Manager shows it.
func applianceRule(in *Input, claimed map[string]bool) []report.Finding {
	apps, byApp := groupBy(in.Outcomes, func(o probes.Outcome) (string, bool) {
		a := o.Result.Appliance
		return a, !claimed[o.Check.ID] && bad(o.Result) && a != "" && o.Check.Role == probes.RolePathTrace
	})
	var out []report.Finding
	for i, a := range apps {
		hit := byApp[a]
		var families []string
		for _, o := range hit {
			families = append(families, string(o.Check.Dependency))
		}
		ev := map[string]any{"appliance": a, "paths": families}
		cause := fmt.Sprintf("A virtual appliance at %s forwards traffic to %s", a, ListOf(families, 5))
		mgmtMissing := false
		if i == 0 { // the route checks and the egress address belong to the first appliance
			for _, o := range in.Outcomes {
				r := o.Result
				if claimed[o.Check.ID] || !bad(r) {
					continue
				}
				switch {
				case o.Check.Role == probes.RoleEgressEcho && r.Reason == probes.ReasonForcedTunnel:
					hit = append(hit, o)
					if r.EgressIP != "" {
						ev["egress_ip"] = r.EgressIP
						cause += ", and Internet-bound traffic leaves from " + r.EgressIP + ", which is not an Azure address"
					}
				case o.Check.Role == probes.RoleManagementReturn && r.Reason == probes.ReasonAsymmetricRoute:
					hit = append(hit, o)
					mgmtMissing = true
				case o.Check.Role == probes.RoleDefaultRoute || o.Check.Role == probes.RoleDependencyRoute:
					if r.Reason == probes.ReasonForcedTunnel {
						hit = append(hit, o)
					}
				}
			}
		}
		cause += "."
		if mgmtMissing {
			ev["apimanagement_route"] = "missing"
			cause += " The route table has no ApiManagement → Internet route, so replies to the control plane on 3443 go through the appliance and are dropped."
		}
		rg, _ := vnetOf(in)
		rtRG, seg := resourceID(in.Azure.RouteTableID)
		rt := or(seg["routetables"], "<route-table>")
		f := report.Finding{
			ID: IDAppliance, Severity: severityOf(hit),
			Title:    "Traffic to Azure goes through an appliance at " + a,
			Cause:    cause,
			Checks:   ids(hit),
			Evidence: ev,
			Fix: report.Fix{Summary: "If the forced tunnel is intended, let the appliance pass every dependency without TLS inspection (or route them around it with service endpoints or service-tag routes to Internet)" +
				mgmtClause(in) + "; otherwise remove the default route to " + a + "."},
		}
		if in.Context.Mode.Classic() {
			f.Fix.Commands = append(f.Fix.Commands, fmt.Sprintf("az network route-table route create --resource-group %s --route-table-name %s --name ApiManagement --address-prefix ApiManagement --next-hop-type Internet", or(rtRG, rg), rt))
		}
		f.Fix.Commands = append(f.Fix.Commands, fmt.Sprintf("az network route-table route list --resource-group %s --route-table-name %s --output table", or(rtRG, rg), rt))
		out = append(out, f)
	}
	return out
}

func mgmtClause(in *Input) string {
	if in.Context.Mode.Classic() {
		return ", and add a route for service tag ApiManagement with next hop Internet so management traffic returns symmetrically"
	}
	return ""
}

// forcedTunnelRule: the egress address alone says traffic leaves through
// something other than Azure's edge, and no appliance was seen on a path.
func forcedTunnelRule(in *Input, claimed map[string]bool) []report.Finding {
	for _, o := range in.Outcomes {
		r := o.Result
		if o.Check.Role != probes.RoleEgressEcho || claimed[o.Check.ID] || !bad(r) || r.Reason != probes.ReasonForcedTunnel {
			continue
		}
		ip := or(r.EgressIP, "an unexpected address")
		return []report.Finding{{
			ID: IDForcedTunnel, Severity: severityOf([]probes.Outcome{o}),
			Title:    "Internet-bound traffic leaves from " + ip + ", not from Azure",
			Cause:    "Internet-bound traffic leaves from " + ip + ", outside Azure's addresses and --expect-egress: a forced tunnel through a firewall or on-premises.",
			Checks:   []string{o.Check.ID},
			Evidence: map[string]any{"egress_ip": r.EgressIP},
			Fix: report.Fix{Summary: "If the tunnel is intended, pass its address with --expect-egress and make sure it lets every dependency through" + mgmtClause(in) +
				"; otherwise remove the 0.0.0.0/0 route to the tunnel."},
		}}
	}
	return nil
}
