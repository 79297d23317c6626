package findings

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// Intercepted is one dependency whose certificate was re-signed.
type Intercepted struct {
	CheckID  string `json:"check"`
	Host     string `json:"host"`
	Required bool   `json:"required"`
	Issuer   string `json:"issuer,omitempty"`
	Root     string `json:"root,omitempty"`
	Subject  string `json:"subject,omitempty"`
	outcome  probes.Outcome
}

// Interceptions is the one definition of TLS interception in a run: every
// outcome whose handshake presented a chain this machine trusts but that
// does not lead to a genuine Azure root (the TLS probe's judgement,
// CertSeen.Intercepted), in check-id order. The tls.interception summary,
// the headline and the inspection finding all read this list. A check of
// many hosts (instance.dependencies) is listed by its hosts, which come as
// outcomes of their own with a host name.
func Interceptions(outcomes []probes.Outcome) []Intercepted {
	var out []Intercepted
	for _, o := range outcomes {
		c := o.Result.Cert
		if c == nil || !c.Intercepted || o.Check.Target.Host == "" {
			continue
		}
		out = append(out, Intercepted{
			CheckID: o.Check.ID, Host: o.Check.Target.Host, Required: o.Check.Required,
			Issuer: c.Issuer, Root: c.Root, Subject: c.Subject, outcome: o,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}

// tlsInspectionRule: one inspecting CA re-signs the certificates of several
// hosts. Certificates of two CAs are two findings; one host alone is left to
// its own check and tls.interception.
func tlsInspectionRule(in *Input, claimed map[string]bool) []report.Finding {
	var seen []probes.Outcome
	for _, i := range Interceptions(in.Outcomes) {
		seen = append(seen, i.outcome)
	}
	issuers, byIssuer := groupBy(seen, func(o probes.Outcome) (string, bool) {
		return o.Result.Cert.Issuer, !claimed[o.Check.ID] && bad(o.Result)
	})
	var out []report.Finding
	for _, is := range issuers {
		hit := byIssuer[is]
		hosts := namesOf(hit)
		if len(hosts) < minInspectedHosts {
			continue
		}
		root := hit[0].Result.Cert.Root
		// The summary check lists every intercepted host: it belongs with the
		// CA when there is one.
		if len(issuers) == 1 {
			for _, o := range in.Outcomes {
				if o.Check.Role == probes.RoleInterception && bad(o.Result) && !claimed[o.Check.ID] {
					hit = append(hit, o)
				}
			}
		}
		out = append(out, report.Finding{
			ID: IDTLSInspection, Severity: severityOf(hit),
			Title: fmt.Sprintf("TLS to %s is inspected by %s", plural(len(hosts), "Azure host", "Azure hosts"), cnOf(is)),
			Cause: fmt.Sprintf("A firewall or proxy re-signs the certificates of %s with %q (root %q), which API Management's machines do not trust.",
				ListOf(hosts, 3), is, root),
			Checks:   ids(hit),
			Evidence: map[string]any{"issuer": is, "root": root, "hosts": hosts},
			Fix: report.Fix{Summary: "Exempt these host names from TLS inspection on the firewall or proxy (Azure Firewall Premium: leave TLS inspection off in the application rules that allow them): " +
				strings.Join(capList(hosts, 8), ", ") + more(len(hosts), 8) + "."},
		})
	}
	return out
}

func more(n, shown int) string {
	if n > shown {
		return fmt.Sprintf(" and %d more", n-shown)
	}
	return ""
}

// cnOf is the CN of a distinguished name, or the name.
func cnOf(dn string) string {
	for _, part := range strings.Split(dn, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return v
		}
	}
	return dn
}

// armRule: one finding for every analysis skipped because Resource Manager
// could not be read, with the permissions and the az commands.
func armRule(in *Input, claimed map[string]bool) []report.Finding {
	m := armMissedBy(in, claimed)
	if len(m.hit) == 0 {
		return nil
	}
	if m.rejected != "" {
		// No role fixes a refused token: the finding says what does.
		return []report.Finding{{
			ID: IDResourceManager, Severity: report.SeverityInfo,
			Title:    fmt.Sprintf("Resource Manager refused the token (%s): %s not judged", m.rejected, plural(len(m.hit), "analysis", "analyses")),
			Cause:    strings.Join(m.why, "; ") + ": the token itself was refused (HTTP 401), so routes, NSGs and the subnet's configuration cannot be judged from inside the VM.",
			Checks:   ids(m.hit),
			Evidence: map[string]any{"error_code": m.rejected, "reasons": m.why},
			Fix:      report.Fix{Summary: m.tokenFix + "."},
		}}
	}
	sub := or(in.Context.SubscriptionID, "<subscription-id>")
	scope := "/subscriptions/" + sub + "/resourceGroups/" + or(in.Context.ResourceGroup, "<resource-group>")
	// The custom role holds every action apimprobe uses (when the reads
	// say which), not only the ones this run missed: granted once, it lets
	// the next run through.
	roleActions := uniq(append(m.roleActions, m.perms...))
	sort.Strings(roleActions)
	actions := make([]string, len(roleActions))
	for i, p := range roleActions {
		actions[i] = `"` + p + `"`
	}
	title, cause, summary := m.words(in)
	return []report.Finding{{
		ID: IDResourceManager, Severity: report.SeverityInfo,
		Title:    title,
		Cause:    cause,
		Checks:   ids(m.hit),
		Evidence: map[string]any{"permissions": m.perms, "reasons": m.why},
		Fix: report.Fix{
			Summary: summary,
			Commands: []string{
				fmt.Sprintf(`az role definition create --role-definition '{"Name": "apimprobe network reader", "Actions": [%s], "AssignableScopes": ["/subscriptions/%s"]}'`, strings.Join(actions, ", "), sub),
				fmt.Sprintf(`az role assignment create --assignee <principal-id> --role Reader --scope %s`, scope),
				fmt.Sprintf(`az role assignment create --assignee <principal-id> --role "apimprobe network reader" --scope %s`, scope),
			},
		},
	}}
}

// armMissed is what the analyses skipped for want of Resource Manager say
// together.
type armMissed struct {
	hit                     []probes.Outcome
	perms, why, roleActions []string
	host, noAnswer          string // Resource Manager never answered: its host, and why
	noToken                 string // the credential that gave no token
	rejected, tokenFix      string // Resource Manager refused the token (401)
}

func armMissedBy(in *Input, claimed map[string]bool) armMissed {
	var m armMissed
	for _, o := range in.Outcomes {
		n := o.Result.NeedsARM
		if claimed[o.Check.ID] || o.Result.Status != probes.Skip || n == nil {
			continue
		}
		m.hit = append(m.hit, o)
		m.perms = append(m.perms, n.Permission)
		m.roleActions = append(m.roleActions, n.RoleActions...)
		m.why = append(m.why, n.Why)
		if n.Unreachable != "" && m.host == "" {
			m.host, m.noAnswer = n.Unreachable, n.NoAnswer
		}
		m.noToken = cmp.Or(m.noToken, n.NoToken)
		if m.rejected == "" && n.Rejected != "" {
			m.rejected, m.tokenFix = n.Rejected, n.TokenFix
		}
	}
	m.perms = uniq(m.perms)
	sort.Strings(m.perms)
	m.why = uniq(m.why)
	return m
}

// words are the finding's title, cause and fix: the network first when
// Resource Manager never answered, then the token, then the permissions.
func (m armMissed) words(in *Input) (title, cause, summary string) {
	actionWords := plural(len(m.perms), "network read action", "network read actions")
	title = fmt.Sprintf("Resource Manager not read: %s not judged", plural(len(m.hit), "analysis", "analyses"))
	cause = strings.Join(m.why, "; ") + ": routes, NSGs and the subnet's configuration cannot be judged from inside the VM."
	summary = fmt.Sprintf("Give the identity apimprobe uses Reader and %s on the resource group (the commands make a custom role), then run again.", actionWords)
	switch {
	case m.host != "":
		// No permission can help a request that never reached Resource
		// Manager: the network comes first.
		title = fmt.Sprintf("Resource Manager did not answer this VM: %s not judged", plural(len(m.hit), "analysis", "analyses"))
		cause = fmt.Sprintf("Requests to %s got %s, so routes, NSGs and the subnet's configuration cannot be judged from inside the VM.", m.host, m.noAnswer)
		summary = fmt.Sprintf("Let this VM resolve and reach %s (service tag AzureResourceManager) through its DNS servers, NSG and firewall, then run again; should the reads then be denied, the commands give the identity Reader and %s.", m.host, actionWords)
	case m.noToken != "":
		title = fmt.Sprintf("No Resource Manager token: %s not judged", plural(len(m.hit), "analysis", "analyses"))
		switch m.noToken {
		case "azure-cli":
			summary = fmt.Sprintf("Sign in with az login as an account that has Reader and %s on the resource group (the commands make a custom role), then run again.", actionWords)
		case "managed-identity":
			summary = fmt.Sprintf("Give this VM a managed identity (az vm identity assign -g %s -n %s turns on the system-assigned one; --identity-client-id picks a user-assigned one) with Reader and %s on the resource group (the commands make a custom role), then run again.",
				or(in.Context.ResourceGroup, "<resource-group>"), "<vm>", actionWords)
		default:
			summary = fmt.Sprintf("Give the credential chain an identity (a managed identity, AZURE_CLIENT_ID, or az login) with Reader and %s on the resource group (the commands make a custom role), then run again.", actionWords)
		}
	case len(m.why) == 1 && strings.Contains(m.why[0], "--no-arm"):
		summary = fmt.Sprintf("Run without --no-arm, with a managed identity that has Reader and %s on the resource group (the commands make a custom role).", actionWords)
	}
	return title, cause, summary
}
