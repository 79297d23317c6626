package run

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// InterceptionCheckID is the SPEC id of the summary check.
const InterceptionCheckID = "tls.interception"

// Evidence keys the TLS probe fills when its handshake completed; the summary
// reads them and nothing else of the probe's internals.
const (
	EvidenceIssuer  = "tls_issuer"
	EvidenceRoot    = "tls_root"
	EvidenceSubject = "tls_subject"
)

// Intercepted is one dependency whose certificate was re-signed.
type Intercepted struct {
	CheckID  string `json:"check"`
	Host     string `json:"host"`
	Required bool   `json:"required"`
	Issuer   string `json:"issuer,omitempty"`
	Root     string `json:"root,omitempty"`
	Subject  string `json:"subject,omitempty"`
}

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
		Kind:     "analysis",
		Why: "A TLS-inspecting proxy or firewall re-signs Azure's certificates with its own CA. This VM may trust that CA; " +
			"API Management's own machines do not, so every inspected dependency is broken for them.",
		Source: "learn.microsoft.com api-management virtual network reference (TLS inspection is not supported)",
	}
	list := InterceptedHosts(outcomes)
	completed, untrusted := 0, []string{}
	for _, o := range outcomes {
		if o.Check.ID == InterceptionCheckID {
			continue
		}
		if tlsCompleted(o) {
			completed++
		}
		if o.Result.Reason == probes.ReasonTLSUntrusted {
			untrusted = append(untrusted, targetHost(o.Check.Target))
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
			len(list), strings.Join(lines, "; "))
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

// InterceptedHosts lists, in check-id order, every outcome the TLS probe
// marked tls-intercepted.
func InterceptedHosts(outcomes []probes.Outcome) []Intercepted {
	var out []Intercepted
	for _, o := range outcomes {
		if o.Check.ID == InterceptionCheckID || o.Result.Reason != probes.ReasonTLSIntercepted {
			continue
		}
		out = append(out, Intercepted{
			CheckID:  o.Check.ID,
			Host:     targetHost(o.Check.Target),
			Required: o.Check.Required,
			Issuer:   evString(o.Result.Evidence, EvidenceIssuer),
			Root:     evString(o.Result.Evidence, EvidenceRoot),
			Subject:  evString(o.Result.Evidence, EvidenceSubject),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}

// tlsCompleted tells whether a check's TLS handshake finished, whatever
// happened after it: the TLS probe records the issuer once it has a chain,
// and an HTTP check that got as far as HTTP had a handshake behind it.
func tlsCompleted(o probes.Outcome) bool {
	r := o.Result
	if r.Reason == probes.ReasonTLSIntercepted {
		return true
	}
	if _, ok := r.Evidence[EvidenceIssuer]; ok {
		return true
	}
	if _, ok := r.Evidence[EvidenceRoot]; ok {
		return true
	}
	if _, ok := r.Phases["tls_ms"]; ok && r.Status != probes.Skip && r.FailedPhase != probes.PhaseTLS {
		return o.Check.ID != "route.egress-ip" // the echo service is no Azure host
	}
	return false
}

func evString(ev map[string]any, key string) string {
	if v, ok := ev[key]; ok {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return ""
}

// targetHost pulls the host name out of a check's target, which is
// host:port, a URL, or a bare name.
func targetHost(t string) string {
	if strings.Contains(t, "://") {
		if u, err := url.Parse(t); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	if h, _, err := net.SplitHostPort(t); err == nil {
		return h
	}
	return t
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
