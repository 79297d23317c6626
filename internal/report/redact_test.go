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

// TestRedactResourceIDs: the names that only Resource Manager's ids carry
// are replaced in every id, and in prose when they cannot be mistaken for
// a word; the regional gateway's host name loses the service's name.
func TestRedactResourceIDs(t *testing.T) {
	const sub = "/subscriptions/1b2c3d4e-0000-4000-8000-123456789abc"
	r := &Report{
		Context: Context{Service: "contoso", Instance: &Instance{
			ID: sub + "/resourceGroups/rg-apim-prod/providers/Microsoft.ApiManagement/service/contoso"}},
		Checks: []Check{
			{ID: "subnet.config", Status: probes.Pass, Target: sub + "/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub01/subnets/default",
				Message:  "subnet default of vnet-hub01 is free; NSG nsg-apim (" + sub + "/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-apim).",
				Evidence: map[string]any{"scope": sub + "/resourceGroups/rg-net/providers/Microsoft.Network/locations/westeurope", "nics": []string{"jump-nic01"}}},
			{ID: "subnet.free", Status: probes.Fail, Message: "it holds 1 network interface (jump-nic01)"},
			{ID: "dns.gateway.regional", Status: probes.Pass, Target: "contoso-westeurope-01.regional.azure-api.net",
				Message: "the default route goes to the Internet; apim answers"},
		},
	}
	if err := r.Redact(Redaction{Names: map[string]string{"contoso": "service"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	out := string(b)
	for _, secret := range []string{"rg-apim-prod", "rg-net", "vnet-hub01", "nsg-apim", "contoso", "1b2c3d4e", "/default\"", "jump-nic01"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survived: %s", secret, out)
		}
	}
	if got := r.Context.Instance.ID; !strings.HasSuffix(got, "/resourceGroups/resource-group-1/providers/Microsoft.ApiManagement/service/service-1") &&
		!strings.HasSuffix(got, "/resourceGroups/resource-group-2/providers/Microsoft.ApiManagement/service/service-1") {
		t.Errorf("instance id %q: the flag's name keeps its placeholder, the group gets one", got)
	}
	if !strings.HasSuffix(r.Checks[0].Target, "/virtualNetworks/vnet-1/subnets/subnet-1") {
		t.Errorf("subnet id %q", r.Checks[0].Target)
	}
	// "default" is a word: in prose it stays, in the id it does not.
	if want := "subnet default of vnet-1 is free; NSG nsg-1 ("; !strings.HasPrefix(r.Checks[0].Message, want) ||
		!strings.HasSuffix(r.Checks[0].Message, "/networkSecurityGroups/nsg-1).") {
		t.Errorf("message %q, want it to start %q and end with the NSG's id", r.Checks[0].Message, want)
	}
	if !strings.HasSuffix(r.Checks[0].Evidence["scope"].(string), "/locations/westeurope") {
		t.Errorf("a location is not a name: %v", r.Checks[0].Evidence["scope"])
	}
	if r.Checks[2].Target != "service-1-westeurope-01.regional.azure-api.net" || r.Checks[2].Message != "the default route goes to the Internet; apim answers" {
		t.Errorf("regional gateway: %q / %q", r.Checks[2].Target, r.Checks[2].Message)
	}
	if r.Checks[1].Message != "it holds 1 network interface (nic-1)" {
		t.Errorf("a NIC known by name only: %q", r.Checks[1].Message)
	}
	if r.Checks[0].ID != "subnet.config" {
		t.Errorf("check id rewritten: %q", r.Checks[0].ID)
	}
}

// Every name the run learnt is replaced in prose too, and so are the names
// made from it (contoso-link); a short plain name is replaced only where
// it stands as a name, so "this VM" stays a sentence.
func TestRedactLearntNamesDerivedNamesAndWords(t *testing.T) {
	const sub = "/subscriptions/1b2c3d4e-0000-4000-8000-123456789abc"
	r := &Report{
		Context: Context{Hostname: "vm", Service: "api", Command: "apimprobe run --service api --sql-server=fabrikamsql -o json"},
		Checks: []Check{
			{ID: "subnet.config", Status: probes.Pass, Target: sub + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hubnetwork/subnets/default",
				Message: "this VM is in subnet default of hubnetwork, peered with Hubnetwork's hub; the default route is fine"},
			{ID: "dns.gateway", Status: probes.Pass, Target: "api.azure-api.net",
				Message: "api-westeurope-01.regional.azure-api.net answers; the api of azure-api.net is Azure's"},
			{ID: "outbound.sql", Status: probes.Fail, Target: "fabrikamsql.database.windows.net:1433",
				Message: "private endpoint fabrikamsql-pe and DNS link fabrikamsql-link; a VM answered"},
		},
	}
	names := map[string]string{"api": "service", "fabrikamsql": "sql-server", "vm": "vm"}
	if err := r.Redact(Redaction{Names: names}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	for _, secret := range []string{"hubnetwork", "Hubnetwork", "fabrikamsql", "--service api", "\"api.", "api-westeurope", `"vm"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("%q survived: %s", secret, b)
		}
	}
	for _, want := range []struct{ got, want string }{
		{r.Context.Hostname, "vm-1"},
		{r.Context.Service, "service-1"},
		{r.Context.Command, "apimprobe run --service service-1 --sql-server=sql-server-1 -o json"},
		{r.Checks[0].Message, "this VM is in subnet default of vnet-1, peered with vnet-1's hub; the default route is fine"},
		{r.Checks[1].Target, "service-1.azure-api.net"},
		{r.Checks[1].Message, "service-1-westeurope-01.regional.azure-api.net answers; the api of azure-api.net is Azure's"},
		{r.Checks[2].Message, "private endpoint sql-server-1-pe and DNS link sql-server-1-link; a VM answered"},
	} {
		if want.got != want.want {
			t.Errorf("got  %q\nwant %q", want.got, want.want)
		}
	}
}

// TestRedactNameThatIsAFieldName: a service called "id" (or "evidence")
// leaves the report's own keys alone, where a free-form evidence key that is
// the user's name is still replaced. Found by FuzzRedact.
func TestRedactNameThatIsAFieldName(t *testing.T) {
	for _, name := range []string{"id", "evidence", "checks"} {
		r := &Report{
			Context: Context{Service: name},
			Checks: []Check{{ID: "outbound.sql", Status: probes.Fail, Reason: probes.ReasonTimeout,
				Evidence: map[string]any{"rg-contoso-hub": "peered", "resolver": "10.0.0.4"}}},
			Findings: []Finding{{ID: "dns.resolver-silent", Checks: []string{"outbound.sql"}}},
		}
		if err := r.Redact(Redaction{Names: map[string]string{name: "service", "rg-contoso-hub": "resource-group"}}); err != nil {
			t.Fatal(err)
		}
		c := r.Checks[0]
		if c.ID != "outbound.sql" || c.Status != probes.Fail || len(r.Findings[0].Checks) != 1 || r.Context.Service != "service-1" {
			t.Errorf("%s: the report lost its structure: %+v, %+v", name, c, r.Findings)
		}
		if _, ok := c.Evidence["rg-contoso-hub"]; ok || c.Evidence["resource-group-1"] != "peered" || c.Evidence["resolver"] != "ip-1" {
			t.Errorf("%s: evidence %v", name, c.Evidence)
		}
	}
}
