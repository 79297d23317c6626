package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/probes"
)

// FuzzRedact: whatever the names and the prose, --redact returns a report
// (no error, no panic), leaves the tool's own words (check ids, statuses)
// as they were, gives the operator's service a placeholder, and leaves no
// distinctive name standing as a word of a message.
func FuzzRedact(f *testing.F) {
	f.Add("contoso", "rg-apim-01", "the gateway contoso.azure-api.net answers; NSG rg-apim-01-nsg denies 443 from 10.0.1.4")
	f.Add("vm", "default", "this VM is in subnet default of vnet-hub01")
	f.Add("api", "hubnetwork", "api-westeurope-01.regional.azure-api.net; the api of azure-api.net; peered with Hubnetwork")
	f.Add("a.b", "(x)", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/(x)/providers/Microsoft.Network/virtualNetworks/a.b/subnets/s")
	placeholder := regexp.MustCompile(`^[a-z-]+-[0-9]+$`)
	f.Fuzz(func(t *testing.T, service, other, message string) {
		const sub = "/subscriptions/1b2c3d4e-0000-4000-8000-123456789abc"
		r := &Report{
			Context: Context{Service: service, ResourceGroup: other, Command: "apimprobe run --service " + service + " " + message},
			Checks: []Check{{ID: "outbound.sql", Status: probes.Fail, Reason: probes.ReasonTimeout, Message: message,
				Target: sub + "/resourceGroups/" + other + "/providers/Microsoft.Network/virtualNetworks/" + service + "/subnets/snet"}},
			Findings: []Finding{{ID: "dns.resolver-silent", Cause: message, Checks: []string{"outbound.sql"}}},
		}
		names := map[string]string{service: "service", other: "resource-group"}
		if err := r.Redact(Redaction{Names: names, Keep: []string{"168.63.129.16"}}); err != nil {
			t.Fatalf("redact: %v", err)
		}
		if r.Checks[0].ID != "outbound.sql" || r.Checks[0].Status != probes.Fail || r.Findings[0].Checks[0] != "outbound.sql" {
			t.Fatalf("the tool's words were rewritten: %+v", r.Checks[0])
		}
		if strings.TrimSpace(service) != "" && utf8.ValidString(service) && strings.EqualFold(r.Context.Service, service) && !placeholder.MatchString(service) {
			t.Fatalf("the service %q kept its name", service)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		if len(service) >= 5 && strings.ContainsAny(service, "-0123456789") && !placeholder.MatchString(service) &&
			regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$`).MatchString(service) {
			word := regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])` + regexp.QuoteMeta(service) + `($|[^A-Za-z0-9])`)
			if !strings.EqualFold(other, service) && word.MatchString(r.Checks[0].Message) && !strings.Contains(strings.ToLower(other), strings.ToLower(service)) {
				t.Fatalf("the service %q stands in %q", service, r.Checks[0].Message)
			}
		}
	})
}
