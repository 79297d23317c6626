package catalog

import (
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func TestPlanEveryCloudAndMode(t *testing.T) {
	full := Inputs{Service: "contoso", Region: "westeurope", StorageAccount: "acct", SQLServer: "sqlsrv", KeyVault: "kv1"}
	for _, cloud := range probes.Clouds() {
		for _, mode := range probes.Modes() {
			for _, phase := range []probes.DeployPhase{probes.DeployPre, probes.DeployPost} {
				checks, err := Plan(Options{Cloud: cloud, Mode: mode, Phase: phase, Inputs: full})
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for _, c := range checks {
					if seen[c.ID] {
						t.Fatalf("%s/%s: duplicate id %s", cloud, mode, c.ID)
					}
					seen[c.ID] = true
					if (c.Probe == nil) == (c.Preset == nil) {
						t.Fatalf("%s: needs exactly one of probe and preset", c.ID)
					}
					if c.Title == "" || c.Category == "" || c.Why == "" || c.Source == "" || c.Target.String() == "" {
						t.Fatalf("%s: incomplete entry %+v", c.ID, c)
					}
					if strings.Contains(c.Target.String(), "<") && c.Probe != nil {
						t.Fatalf("%s: probing a placeholder %s", c.ID, c.Target)
					}
					if c.Probe != nil && c.Kind.Spec().New == nil {
						t.Fatalf("%s: kind %q, which the registry builds no probe for", c.ID, c.Kind)
					}
					if c.Preset != nil && c.Preset.Reason == probes.ReasonNotApplicable && c.Required {
						t.Fatalf("%s: a check that does not apply cannot be required", c.ID)
					}
				}
				for _, id := range []string{"outbound.storage.blob", "outbound.storage.table", "outbound.keyvault", "outbound.entra.login", "outbound.graph.metadata", "inbound.gateway"} {
					if !seen[id] {
						t.Fatalf("%s/%s: %s missing", cloud, mode, id)
					}
				}
			}
		}
	}
}

func byID(checks []probes.Check) map[string]probes.Check {
	m := map[string]probes.Check{}
	for _, c := range checks {
		m[c.ID] = c
	}
	return m
}

func TestPlanRequirementsAndSkips(t *testing.T) {
	checks, _ := Plan(Options{Cloud: "public", Mode: "internal", Phase: "post", Inputs: Inputs{Service: "contoso", StorageAccount: "acct", SQLServer: "sqlsrv", KeyVault: "kv1"}})
	m := byID(checks)
	for id, req := range map[string]bool{
		"outbound.storage.blob": true, "outbound.storage.table": true, "outbound.storage.queue": false,
		"outbound.sql": true, "outbound.keyvault": true, "outbound.monitor.warmpath": true, "outbound.monitor.metrics": false,
		"outbound.certs.crl-microsoft": true, "outbound.graph.metadata": false, "outbound.smtp": false, "inbound.gateway": true,
	} {
		if m[id].Required != req {
			t.Errorf("%s required=%v, want %v", id, m[id].Required, req)
		}
	}
	if got := m["outbound.sql"].Target.String(); got != "sqlsrv.database.windows.net:1433" {
		t.Errorf("sql target %s", got)
	}
	if got := m["outbound.keyvault"].Target.String(); !strings.HasPrefix(got, "https://kv1.vault.azure.net/") {
		t.Errorf("vault target %s", got)
	}
	if got := m["inbound.gateway"].Target.String(); got != "https://contoso.azure-api.net/status-0123456789abcdef" {
		t.Errorf("gateway target %s", got)
	}
	if !strings.Contains(m["outbound.smtp"].Title, "legacy") {
		t.Error("legacy entries must say so")
	}
	// No region: the regional Entra endpoint is no-data, naming the flag.
	if p := m["outbound.entra.regional"].Preset; p == nil || p.Reason != probes.ReasonNoData || !strings.Contains(p.Hint, "--region") {
		t.Errorf("regional entra: %+v", p)
	}

	// Nothing given: instance and account checks are no-data with the flag named.
	checks, _ = Plan(Options{Cloud: "public", Mode: "internal", Phase: "pre"})
	m = byID(checks)
	for id, flag := range map[string]string{"outbound.storage.blob": "--storage-account", "outbound.sql": "--sql-server", "outbound.keyvault": "--key-vault"} {
		p := m[id].Preset
		if p == nil || p.Reason != probes.ReasonNoData || !strings.Contains(p.Hint, flag) {
			t.Errorf("%s: %+v", id, p)
		}
	}
	if p := m["inbound.gateway"].Preset; p == nil || p.Reason != probes.ReasonNotApplicable {
		t.Errorf("gateway in pre phase: %+v", p)
	}
	if m["outbound.monitor.warmpath"].Probe == nil || m["outbound.graph.metadata"].Probe == nil {
		t.Error("instance-independent dependencies must be probed with no flags at all")
	}

	// v2 outbound integration: SQL is not a dependency; Key Vault is required.
	checks, _ = Plan(Options{Cloud: "usgov", Mode: "v2-integrated", Phase: "post", Inputs: Inputs{Service: "x", SQLServer: "s", KeyVault: "kv1"}})
	m = byID(checks)
	if p := m["outbound.sql"].Preset; p == nil || p.Reason != probes.ReasonNotApplicable {
		t.Errorf("sql in v2: %+v", p)
	}
	if !m["outbound.keyvault"].Required || m["outbound.keyvault"].Target.String() != "https://kv1.vault.usgovcloudapi.net/secrets?api-version=7.4" {
		t.Errorf("vault in v2-integrated: %+v", m["outbound.keyvault"])
	}
	if m["outbound.monitor.warmpath"].Target.String() != "fairfax.warmpath.usgovcloudapi.net:443" {
		t.Errorf("usgov warmpath %s", m["outbound.monitor.warmpath"].Target)
	}
}

func TestHintsNameTheChange(t *testing.T) {
	e := Endpoint{ID: "outbound.sql", Host: "s.database.windows.net", Port: 1433, ServiceTag: "Sql", Regional: true}
	h := hint(e, "WestEurope")
	for reason, want := range map[probes.Reason]string{
		probes.ReasonTimeout:     "service tag Sql.westeurope",
		probes.ReasonRefused:     "refused",
		probes.ReasonUnreachable: "route table",
		probes.ReasonNXDomain:    "168.63.129.16",
	} {
		got := h(probes.Result{Status: probes.Fail, Reason: reason, FailedPhase: probes.PhaseConnect})
		if !strings.Contains(got, want) {
			t.Errorf("%s: hint %q lacks %q", reason, got, want)
		}
	}
	tlsEp := Endpoint{Host: "a.blob.core.windows.net", Port: 443, ServiceTag: "Storage"}
	if got := hint(tlsEp, "")(probes.Result{Reason: probes.ReasonReset, FailedPhase: probes.PhaseTLS}); !strings.Contains(got, "FQDN a.blob.core.windows.net") {
		t.Errorf("reset after ClientHello hint %q", got)
	}
	if got := hint(tlsEp, "")(probes.Result{Reason: probes.ReasonTLSIntercepted}); !strings.Contains(got, "Exempt a.blob.core.windows.net") {
		t.Errorf("intercepted hint %q", got)
	}
}

func TestSelect(t *testing.T) {
	checks := []probes.Check{{ID: "outbound.storage.blob"}, {ID: "outbound.sql"}, {ID: "dns.gateway"}}
	ids := func(cs []probes.Check) (s []string) {
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return
	}
	if got := ids(Select(checks, []string{"outbound.*"}, []string{"outbound.sql"})); strings.Join(got, ",") != "outbound.storage.blob" {
		t.Fatal(got)
	}
	if got := ids(Select(checks, []string{"outbound"}, nil)); len(got) != 2 {
		t.Fatal(got)
	}
	if ValidatePattern("[") == nil {
		t.Fatal("a malformed glob must be rejected")
	}
}
