package judge

import (
	"fmt"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// modeCheck is instance.mode: the instance's mode against the mode the run
// judges by. A --mode the instance contradicts is a required failure: every
// DNS and inbound verdict follows from the mode.
func modeCheck(src snapshot.Source, opts Config) probes.Check {
	c := probes.Check{ID: "instance.mode", Title: "The instance's network mode", Category: "Instance", Required: true,
		Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceMode},
		Target: probes.Subject("the instance's virtualNetworkType and SKU"), Source: "learn.microsoft.com/rest/api/apimanagement/api-management-service/get (virtualNetworkType, sku)",
		Why: "the mode decides what the instance's names must resolve to and which endpoints take traffic; judged by another mode, those verdicts are wrong"}
	applies, na := true, ""
	switch {
	case opts.Service == "":
		applies, na = false, "no --service: there is no instance to compare the mode with"
	case opts.Phase == probes.DeployPre:
		applies, na = false, "before deployment the instance does not exist yet"
	}
	return analysisCheck(src, c, applies, na, func(s *snapshot.Snapshot) probes.Result {
		if s.APIM == nil {
			if r := unavailable(s, "the instance's virtualNetworkType and SKU", snapshot.ReadAPIM); r != nil {
				return *r
			}
			return probes.Skipf(probes.ReasonNoData, "Resource Manager did not show the instance", "Run `az apim show -n NAME -g RG --query '{type: virtualNetworkType, sku: sku.name}'` and pass --mode to match.")
		}
		got, why := snapshot.ModeOf(s.APIM)
		ev := map[string]any{"virtual_network_type": s.APIM.VNetType, "sku": s.APIM.SKU, "mode": opts.Mode}
		if got != "" {
			ev["instance_mode"] = got
		}
		if opts.ModeAuto {
			if got == "" {
				r := probes.Warnf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, why+": apimprobe judged it as mode "+string(opts.Mode))
				r.Hint = "Pass --mode for the virtual network mode to check before the instance joins one."
				r.Evidence = ev
				return r
			}
			r := probes.Passf(fmt.Sprintf("mode %s, taken from the instance (%s)", got, snapshot.ModeWords(s.APIM)))
			r.Evidence = ev
			return r
		}
		if got == opts.Mode {
			r := probes.Passf(fmt.Sprintf("the instance is %s (%s), as --mode says", got, snapshot.ModeWords(s.APIM)))
			r.Evidence = ev
			return r
		}
		is := string(got)
		if got == "" {
			is = "in no virtual network"
		}
		r := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, fmt.Sprintf(
			"the instance is %s (%s); --mode says %s: the DNS and inbound checks were judged for the wrong mode", is, snapshot.ModeWords(s.APIM), opts.Mode))
		if got != "" {
			r.Hint = fmt.Sprintf("Run again with --mode %s, or without --mode to take the instance's own.", got)
		} else {
			r.Hint = "Run again without --mode (the instance is in no virtual network), or with the mode it is about to get."
		}
		r.Evidence = ev
		return r
	})
}
