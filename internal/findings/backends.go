package findings

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// Rules over the instance's own probe (ConnectivityCheck, --instance-probe)
// set beside this VM's checks: each premise is two observations, this VM's
// verdict and the instance's answer for the same destination.

const (
	// IDInstancePath: destinations this VM reaches and the instance, asked
	// itself, does not.
	IDInstancePath = "instance.path-differs"
	// IDBackendUnreachable: backends neither this VM nor the instance
	// reaches.
	IDBackendUnreachable = "backend.unreachable"
)

// instancePathRule: this VM reaches a destination (a backend or a required
// dependency) that the instance's own probe could not: the instance's path
// is not this VM's. instance.probe's own failure is the same cause.
func instancePathRule(in *Input, claimed map[string]bool) []report.Finding {
	var hit []probes.Outcome
	var summary *probes.Outcome
	required := false
	var dests []map[string]any
	var issues []string
	for i, o := range in.Outcomes {
		if claimed[o.Check.ID] {
			continue
		}
		if o.Check.Role == probes.RoleInstanceProbe {
			summary = &in.Outcomes[i]
			continue
		}
		ip := o.Result.InstanceProbe
		if ip == nil || ip.Agreement != probes.AgreeInstanceFails {
			continue
		}
		hit = append(hit, o)
		required = required || o.Check.Required
		dests = append(dests, probeEvidence(o))
		issues = append(issues, probes.IssueWords(ip.Hops)...)
	}
	if len(hit) == 0 {
		return nil
	}
	checks := ids(hit)
	if summary != nil && (summary.Result.Status == probes.Fail || summary.Result.Status == probes.Warn) {
		checks = append(checks, summary.Check.ID)
	}
	sev := report.SeverityDegrading
	if required {
		sev = report.SeverityBlocking
	}
	issues = uniq(issues)
	cause := fmt.Sprintf("This VM reaches %s, and the instance, asked to probe the same from its own machines (ConnectivityCheck), does not: %s.",
		strings.Join(targets(hit), ", "), hit[0].Result.InstanceProbe.Meaning)
	if len(issues) > 0 {
		cause += " The instance's probe reports " + strings.Join(issues, "; ") + "."
	}
	fix := report.Fix{Summary: "Compare the NSG and route table of the instance's subnet with this VM's, and allow the flows the instance's probe names (its hops and issues are in the evidence); then run again with --instance-probe."}
	if in.Azure.NSGID != "" {
		fix.Commands = append(fix.Commands, "az network nsg rule list --nsg-name "+lastSegment(in.Azure.NSGID)+" -g "+resourceGroupOf(in.Azure.NSGID)+" -o table")
	}
	if in.Azure.RouteTableID != "" {
		fix.Commands = append(fix.Commands, "az network route-table route list --route-table-name "+lastSegment(in.Azure.RouteTableID)+" -g "+resourceGroupOf(in.Azure.RouteTableID)+" -o table")
	}
	return []report.Finding{{
		ID: IDInstancePath, Severity: sev,
		Title:    fmt.Sprintf("The instance cannot reach %s that this VM reaches: its path differs", plural(len(hit), "destination", "destinations")),
		Cause:    cause,
		Checks:   checks,
		Evidence: map[string]any{"destinations": dests},
		Fix:      fix,
	}}
}

// backendUnreachableRule: a backend that fails here and that the instance
// could not reach either: the backend, or the route both share to it.
func backendUnreachableRule(in *Input, claimed map[string]bool) []report.Finding {
	var hit []probes.Outcome
	var summary *probes.Outcome
	var dests []map[string]any
	var issues, phases []string
	required := false
	for i, o := range in.Outcomes {
		if !claimed[o.Check.ID] && o.Check.Role == probes.RoleInstanceProbe {
			summary = &in.Outcomes[i]
			continue
		}
		ip := o.Result.InstanceProbe
		if claimed[o.Check.ID] || o.Check.Area != probes.AreaBackend || ip == nil || ip.Agreement != probes.AgreeBothFail {
			continue
		}
		hit = append(hit, o)
		required = required || o.Check.Required
		dests = append(dests, probeEvidence(o))
		issues = append(issues, probes.IssueWords(ip.Hops)...)
		phases = append(phases, fmt.Sprintf("%s: %s in %s", o.Check.Target.String(), o.Result.Reason, o.Result.FailedPhase))
	}
	if len(hit) == 0 {
		return nil
	}
	sev := report.SeverityDegrading
	if required {
		sev = report.SeverityBlocking
	}
	issues = uniq(issues)
	cause := fmt.Sprintf("Neither this VM (%s) nor the instance, probing from its own machines, reaches %s: %s.",
		strings.Join(phases, "; "), strings.Join(targets(hit), ", "), hit[0].Result.InstanceProbe.Meaning)
	fixText := "Check the backend itself (that it listens on the port and accepts the subnet's addresses) and the route to it that both share: an on-premises or hub firewall, the VPN or ExpressRoute routes."
	if len(issues) > 0 {
		cause += " The instance's probe reports " + strings.Join(issues, "; ") + "."
		fixText = "Fix what the instance's probe names (" + strings.Join(issues, "; ") + "), then check the backend itself and the route both share to it."
	}
	checks := ids(hit)
	if summary != nil && (summary.Result.Status == probes.Fail || summary.Result.Status == probes.Warn) {
		checks = append(checks, summary.Check.ID) // the instance's side of the same cause
	}
	return []report.Finding{{
		ID: IDBackendUnreachable, Severity: sev,
		Title:    fmt.Sprintf("Neither this VM nor the instance reaches %s", plural(len(hit), "backend", "backends")),
		Cause:    cause,
		Checks:   checks,
		Evidence: map[string]any{"backends": dests},
		Fix:      report.Fix{Summary: fixText},
	}}
}

// probeEvidence is one destination's two sides, for a finding's evidence.
func probeEvidence(o probes.Outcome) map[string]any {
	ip := o.Result.InstanceProbe
	ev := map[string]any{"check": o.Check.ID, "destination": ip.Destination, "this_vm": string(o.Result.Status),
		"instance": ip.Status, "region": ip.Region}
	if o.Result.Status != probes.Pass {
		ev["this_vm"] = fmt.Sprintf("%s (%s in %s)", o.Result.Status, o.Result.Reason, o.Result.FailedPhase)
	}
	if len(ip.Hops) > 0 {
		ev["hops"] = ip.Hops
	}
	return ev
}

func targets(os []probes.Outcome) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.Check.Target.String()
	}
	return out
}

func lastSegment(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

func resourceGroupOf(id string) string {
	seg := strings.Split(id, "/")
	for i := 0; i+1 < len(seg); i++ {
		if strings.EqualFold(seg[i], "resourceGroups") {
			return seg[i+1]
		}
	}
	return "<resource-group>"
}
