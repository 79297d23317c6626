package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// IDNICNSG: flows of this VM's that the NSG on its own NIC denies while
// the subnet's NSGs allow them: the failures are this VM's, not the
// subnet's.
const IDNICNSG = "vm.nic-nsg-denies"

// nicNSGRule: checks whose flow a rule of the NSG on this VM's NIC denied
// (Rule.NIC, set only when the subnet's NSGs allow the flow and no security
// admin rule decides it) are named once per NSG: the premise is the effective
// NSG view Resource Manager gave, and the cause is this VM's, so the fix is
// to that NSG and the instance is not blocked by it.
func nicNSGRule(in *Input, claimed map[string]bool) []report.Finding {
	keys, byNSG := groupBy(in.Outcomes, func(o probes.Outcome) (string, bool) {
		r := o.Result.Rule
		if claimed[o.Check.ID] || !bad(o.Result) || r == nil || !r.NIC {
			return "", false
		}
		return r.GroupID + "|" + r.Group, true
	})
	var out []report.Finding
	for _, k := range keys {
		hit := byNSG[k]
		first := hit[0].Result.Rule
		var flows, rules, cmds []string
		for _, o := range hit {
			r := o.Result.Rule
			flows = append(flows, fmt.Sprintf("%s %s %d to %s", strings.ToLower(r.Direction), strings.ToUpper(r.Protocol), r.Port, r.Destination))
			rules = append(rules, fmt.Sprintf("%s (priority %d)", or(r.Name, "(default deny)"), r.Priority))
		}
		flows, rules = uniq(flows), uniq(rules)
		sort.Strings(rules)
		for i, o := range dedupeFlows(hit) {
			r := o.Result.Rule
			prio := "<priority>"
			if n := prioNum(r.Priority); n > 0 {
				prio = fmt.Sprint(max(n-i, 100))
			}
			cmds = append(cmds, fmt.Sprintf(
				"az network nsg rule create --resource-group %s --nsg-name %s --name Allow-%s-%d --priority %s --direction %s --access Allow --protocol %s --source-address-prefixes %s --destination-address-prefixes %s --destination-port-ranges %d",
				rgOf(in, r.GroupID), r.Group, ruleWord(r.Destination), r.Port, prio, titleCase(r.Direction), titleCase(r.Protocol), r.Source, r.Destination, r.Port))
		}
		sev := severityOf(hit)
		title := fmt.Sprintf("NSG %s on this VM's NIC denies %s the subnet allows: the failures are this VM's, not the subnet's", first.Group, plural(len(flows), "flow", "flows"))
		cause := fmt.Sprintf("Rule %s of NSG %s, associated with this VM's network interface rather than the subnet, denies %s; the subnet's NSGs allow these flows and no security admin rule decides them. API Management's machines are not behind this VM's NIC: the checks failed for this VM, and say nothing against the instance's path.",
			strings.Join(rules, ", "), first.Group, ListOf(flows, 4))
		fixWords := "nothing needs to change for the instance"
		if sev == report.SeverityBlocking {
			// A failure that stands: the instance fails it too, or the
			// view could not show the admin rules that would clear it.
			title = fmt.Sprintf("NSG %s on this VM's NIC denies %s the subnet allows", first.Group, plural(len(flows), "flow", "flows"))
			cause = fmt.Sprintf("Rule %s of NSG %s, associated with this VM's network interface rather than the subnet, denies %s, and the subnet's NSGs allow them: this VM's NIC explains its failures. Whether the instance's own traffic gets through is not shown (the instance reports it failing, or the configured view lacks the security admin rules), so the failures stand.",
				strings.Join(rules, ", "), first.Group, ListOf(flows, 4))
			fixWords = "then run again to see whether the instance's path is clear"
		}
		out = append(out, report.Finding{
			ID: IDNICNSG, Severity: sev, Title: title, Cause: cause,
			Checks:   ids(hit),
			Evidence: map[string]any{"nsg": first.Group, "nsg_id": first.GroupID, "scope": "nic", "rules": rules, "flows": flows},
			Fix: report.Fix{
				Summary:  fmt.Sprintf("To test these flows from this VM, allow them in NSG %s on its NIC, before the rule that denies them (or run apimprobe from a VM whose NIC has no such rule); %s.", first.Group, fixWords),
				Commands: cmds,
			},
		})
	}
	return out
}

// dedupeFlows keeps one outcome per flow (two checks may dial the same
// address and port).
func dedupeFlows(os []probes.Outcome) []probes.Outcome {
	seen := map[string]bool{}
	var out []probes.Outcome
	for _, o := range os {
		r := o.Result.Rule
		k := fmt.Sprint(r.Protocol, r.Destination, r.Port)
		if !seen[k] {
			seen[k] = true
			out = append(out, o)
		}
	}
	return out
}
