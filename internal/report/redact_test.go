package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func TestRedact(t *testing.T) {
	r := &Report{
		Context: Context{Service: "storage", ResourceGroup: "rg-contoso", SubscriptionID: "1b2c3d4e-0000-4000-8000-123456789abc",
			VMPrivateIP: "10.0.1.4", Resolvers: []string{"10.0.0.4:53", "168.63.129.16:53"}, Command: "apimprobe run --service storage --key-vault storage-kv"},
		Findings: []Finding{{ID: "dns.resolver-silent", Checks: []string{"outbound.storage.blob"},
			Cause: "DNS server 10.0.0.4 does not answer for storage.azure-api.net", Evidence: map[string]any{"10.0.0.4:53": "storage-kv.vault.azure.net"},
			Fix: Fix{Commands: []string{"az network vnet update --resource-group rg-contoso --name v"}}}},
		Checks: []Check{{ID: "outbound.storage.blob", Category: "Azure Storage", Status: probes.Fail, Reason: probes.ReasonTimeout,
			Target: "storage.blob.core.windows.net:443", Message: "no answer from 10.0.1.4 or 2001:db8::5 (0.0.0.0/0 via 10.0.0.4)"}},
	}
	err := r.Redact(Redaction{
		Names: map[string]string{"storage": "service", "storage-kv": "key-vault", "rg-contoso": "resource-group"},
		Keep:  []string{"168.63.129.16"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	out := string(b)
	for _, secret := range []string{"rg-contoso", "storage-kv", "10.0.1.4", "10.0.0.4", "1b2c3d4e", "2001:db8::5", `"storage.`, "--service storage"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survived: %s", secret, out)
		}
	}
	// Stable: one value, one placeholder, everywhere; the tool's own words stay.
	if r.Context.Resolvers[0] != r.Findings[0].Checks[0][:0]+"ip-2:53" && !strings.HasPrefix(r.Context.Resolvers[0], "ip-") {
		t.Errorf("resolver %q", r.Context.Resolvers[0])
	}
	if !strings.Contains(r.Findings[0].Cause, strings.TrimSuffix(r.Context.Resolvers[0], ":53")) {
		t.Errorf("the same address got two placeholders: %q vs %q", r.Findings[0].Cause, r.Context.Resolvers[0])
	}
	if r.Checks[0].ID != "outbound.storage.blob" || r.Findings[0].Checks[0] != "outbound.storage.blob" || r.Checks[0].Category != "Azure Storage" {
		t.Errorf("vocabulary rewritten: %+v", r.Checks[0])
	}
	if r.Context.Resolvers[1] != "168.63.129.16:53" || !strings.Contains(r.Checks[0].Message, "0.0.0.0/0") {
		t.Errorf("kept addresses rewritten: %v %q", r.Context.Resolvers, r.Checks[0].Message)
	}
	if r.Checks[0].Target != "service-1.blob.core.windows.net:443" || r.Context.Service != "service-1" ||
		!strings.Contains(r.Findings[0].Fix.Commands[0], "--resource-group resource-group-1 ") {
		t.Errorf("names: %q %q %q", r.Checks[0].Target, r.Context.Service, r.Findings[0].Fix.Commands[0])
	}
}
