package run

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/probes"
)

// InterceptionCheckID is the SPEC id of the summary check.
const InterceptionCheckID = "tls.interception"

// Intercepted is one dependency whose certificate was re-signed.
type Intercepted = findings.Intercepted

// InterceptionSummary builds the one tls.interception check from a run's
// outcomes: fail when a required dependency is intercepted (API
// Management's own machines do not trust an inspecting CA), warn when only
// optional ones are, pass when TLS handshakes completed and none was, skip
// no-data when no handshake completed at all. The returned outcome carries
// its result both as Result and as the check's Preset, so that it reads the
// same whether the caller reports outcomes or re-runs checks.
func InterceptionSummary(outcomes []probes.Outcome) probes.Outcome {
	check := probes.Check{
		ID:       InterceptionCheckID,
		Title:    "TLS inspection of Azure traffic",
		Category: "TLS inspection",
		Required: true,
		Kind:     probes.KindAnalysis,
		Facets:   probes.Facets{Area: probes.AreaTLS, Role: probes.RoleInterception},
		Target:   probes.Subject("the certificates of every TLS handshake to an Azure host"),
		Why: "A TLS-inspecting proxy or firewall re-signs Azure's certificates with its own CA. This VM may trust that CA; " +
			"API Management's own machines do not, so every inspected dependency is broken for them.",
		Source: "learn.microsoft.com/azure/api-management/virtual-network-reference (TLS inspection is not supported)",
	}
	list := findings.Interceptions(outcomes)
	completed, untrusted := 0, []string{}
	for _, o := range outcomes {
		if o.Check.Role == probes.RoleInterception {
			continue
		}
		if tlsCompleted(o) {
			completed++
		}
		if o.Result.Reason == probes.ReasonTLSUntrusted {
			untrusted = append(untrusted, o.Check.Target.Host)
		}
	}
	ev := map[string]any{"tls_checks_completed": completed}
	var r probes.Result
	switch {
	case len(list) > 0:
		ev["intercepted"] = list
		required := false
		var names, lines []string
		for _, i := range list {
			required = required || i.Required
			names = append(names, i.Host)
			lines = append(lines, fmt.Sprintf("%s (issuer %q, root %q)", i.Host, i.Issuer, i.Root))
		}
		msg := fmt.Sprintf("TLS to %d Azure host(s) is intercepted: the certificate is trusted here but does not lead to an Azure root: %s",
			len(uniq(names)), strings.Join(lines, "; "))
		if required {
			r = probes.Failf(probes.ReasonTLSIntercepted, probes.PhaseTLS, msg)
		} else {
			r = probes.Warnf(probes.ReasonTLSIntercepted, probes.PhaseTLS, msg+" (optional dependencies only)")
		}
		r.Hint = "Exempt these FQDNs from TLS inspection on the firewall or proxy: " + strings.Join(uniq(names), ", ") + "."
	case completed > 0:
		r = probes.Passf(fmt.Sprintf("%d TLS handshake(s) to Azure hosts completed and every certificate leads to an Azure root", completed))
	default:
		r = probes.Skipf(probes.ReasonNoData, "no TLS handshake to an Azure host completed, so interception could not be judged", "")
	}
	if len(untrusted) > 0 {
		ev["tls_untrusted"] = uniq(untrusted)
		r.Message += fmt.Sprintf("; %d host(s) failed as untrusted (%s), which an inspecting CA this machine does not trust would also cause",
			len(untrusted), strings.Join(uniq(untrusted), ", "))
	}
	r.Evidence = ev
	check.Preset = &r
	return probes.Outcome{Check: check, Result: r}
}

// tlsCompleted tells whether a check's TLS handshake finished, whatever
// happened after it: the TLS and HTTP probes record the certificate once
// they have a chain, and an HTTP check that got as far as HTTP had a
// handshake behind it.
func tlsCompleted(o probes.Outcome) bool {
	r := o.Result
	if o.Check.Role == probes.RoleEgressEcho {
		return false // the echo service is no Azure host
	}
	if r.Reason == probes.ReasonTLSIntercepted || r.Cert != nil {
		return true
	}
	_, ok := r.Phases["tls_ms"]
	return ok && r.Status != probes.Skip && r.FailedPhase != probes.PhaseTLS
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
