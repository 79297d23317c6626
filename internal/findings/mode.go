package findings

import (
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// IDModeMismatch: the instance's own mode is not the one the run judged by.
const IDModeMismatch = "instance.mode-mismatch"

// modeRule: --mode contradicts the instance's resource (instance.mode
// failed, an observed premise). Every name and inbound endpoint was judged
// for the wrong mode — a private answer where a public one was expected, or
// the reverse, and endpoints the instance does not serve — so the DNS and
// inbound failures that follow are this one cause.
func modeRule(in *Input, claimed map[string]bool) []report.Finding {
	var premise *probes.Outcome
	for i, o := range in.Outcomes {
		if o.Check.Role == probes.RoleInstanceMode && o.Result.Status == probes.Fail && !claimed[o.Check.ID] {
			premise = &in.Outcomes[i]
			break
		}
	}
	if premise == nil {
		return nil
	}
	hit := []probes.Outcome{*premise}
	for _, o := range in.Outcomes {
		if claimed[o.Check.ID] || !bad(o.Result) {
			continue
		}
		if (o.Check.Area == probes.AreaDNS && o.Check.Role == probes.RoleName) || o.Check.Area == probes.AreaInbound {
			hit = append(hit, o)
		}
	}
	return []report.Finding{{
		ID: IDModeMismatch, Severity: severityOf(hit),
		Title:    "--mode does not match the instance",
		Cause:    premise.Result.Message + "; the DNS and inbound failures beside it follow from judging the instance by the wrong mode.",
		Checks:   ids(hit),
		Evidence: map[string]any{"instance": premise.Result.Evidence},
		Fix:      report.Fix{Summary: premise.Result.Hint},
	}}
}
