package run

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// nicNSGSnapshot is what Resource Manager shows of the jumpbox (10.1.2.4):
// its VM and NIC, and the effective NSGs of the recorded shape (tagMap an
// object, rules expanded, azure-facts §11.1) with nsgFixture's groups:
// the subnet's nsg-apim, nsg-jumpbox-nic on the NIC, and a network
// manager's admin rules. Every other read is 404.
func nicNSGSnapshot(t *testing.T, nsgFixture string, denyEffective bool) *snapshot.Snapshot {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case r.Method == http.MethodGet && strings.HasSuffix(p, "/virtualMachines/jumpbox"):
			w.Write(fixture(t, "vm.json"))
		case r.Method == http.MethodGet && strings.HasSuffix(p, "/networkInterfaces/jumpbox-nic"):
			w.Write(fixture(t, "nic.json"))
		case r.Method == http.MethodPost && strings.HasSuffix(p, "/effectiveNetworkSecurityGroups") && denyEffective:
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"does not have authorization to perform action 'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action'"}}`))
		case r.Method == http.MethodPost && strings.HasSuffix(p, "/effectiveNetworkSecurityGroups"):
			w.Write(fixture(t, nsgFixture))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := azdiscover.Discover(ctx, azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: srv.URL,
		ARMTransport: srv.Client(), TokenCredential: &azfake.TokenCredential{}, Mode: probes.ModeInternal, Phase: probes.DeployPost})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Wait(ctx)
	if got := s.Read(snapshot.ReadEffectiveNSGs).OK(); got == denyEffective || s.NICPrivateIP != "10.1.2.4" {
		t.Fatalf("effective NSGs read %+v, NIC address %q", s.Read(snapshot.ReadEffectiveNSGs), s.NICPrivateIP)
	}
	return s
}

// silent is a required dial check of this VM's that got no answer from
// addr (a silent drop in connect).
func silent(id, addr string, kind probes.Kind) probes.Outcome {
	ap := netip.MustParseAddrPort(addr)
	c := probes.Check{ID: id, Kind: kind, Required: true, Target: probes.HostPort("x.example", int(ap.Port())),
		Facets: probes.Facets{Area: probes.AreaOutbound, Protocol: kind.Spec().Protocol}}
	r := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer to TCP SYN to "+addr+" within 5s (a silent drop: NSG, firewall or route)")
	r.Hint = "Allow it in the subnet's NSG."
	r.Dialled, r.Addresses = addr, []string{ap.Addr().String()}
	return probes.Outcome{Check: c, Result: r}
}

// A probe that got no answer for a flow only the NSG on this VM's own NIC
// denies failed for this VM, not for the subnet: its message says so, its
// hint is the NIC's rule, it warns rather than blocks, and one finding
// names the NIC's NSG. Flows the subnet's NSG denies too, that an admin
// rule always allows, or that the instance itself fails, stand.
func TestNICNSGFailureIsThisVMs(t *testing.T) {
	s := nicNSGSnapshot(t, "effective-nsgs-nic-deny.json", false)
	outs := []probes.Outcome{
		// nsg-jumpbox-nic's DenyKeyVaultOut; nsg-apim's AllowKeyVaultRegional.
		silent("outbound.keyvault", "13.69.64.75:443", probes.KindTLS),
		// nsg-apim denies it too (DenyInternetOut): the subnet's failure.
		silent("outbound.other", "52.236.189.81:8443", probes.KindTCP),
		// The NIC allows it: something else dropped it.
		silent("outbound.storage.blob", "20.38.96.10:443", probes.KindTLS),
		// The network manager always allows SQL: no NSG had a say.
		silent("outbound.sql", "13.69.64.76:1433", probes.KindTCP),
		// The same flow as Key Vault's, but the instance fails it too.
		silent("outbound.keyvault.instance", "13.69.64.75:443", probes.KindTLS),
	}
	outs[4].Result.Instance = []probes.InstanceStatus{{Location: "West Europe", Name: "x.vault.azure.net", Status: "failure"}}
	refused := silent("outbound.refused", "13.69.64.75:443", probes.KindTLS)
	refused.Result.Reason = probes.ReasonRefused
	outs = append(outs, refused)
	annotateNICNSG(outs, s)

	kv := outs[0].Result
	if kv.Status != probes.Warn || kv.Reason != probes.ReasonTimeout || kv.Rule == nil || !kv.Rule.NIC || kv.Rule.Group != "nsg-jumpbox-nic" || kv.Rule.Name != "DenyKeyVaultOut" {
		t.Fatalf("Key Vault: %s/%s rule %+v: %s", kv.Status, kv.Reason, kv.Rule, kv.Message)
	}
	for _, want := range []string{"the failure is this VM's, not the subnet's",
		"rule DenyKeyVaultOut (priority 300, Deny) of NSG nsg-jumpbox-nic on this VM's NIC denies Outbound TCP 443 from 10.1.2.4/32 to 13.69.64.75/32",
		"the subnet's NSG nsg-apim allows it by rule AllowKeyVaultRegional (priority 220, Allow)"} {
		if !strings.Contains(kv.Message, want) {
			t.Errorf("Key Vault message lacks %q: %s", want, kv.Message)
		}
	}
	if !strings.Contains(kv.Hint, "Add to NSG nsg-jumpbox-nic, on this VM's NIC, an outbound rule allowing TCP port 443 from 10.1.2.4/32 to 13.69.64.75/32 with a priority number below 300") {
		t.Errorf("Key Vault hint: %s", kv.Hint)
	}
	if ev, _ := kv.Evidence["nic_nsg"].(map[string]any); ev["nsg"] != "nsg-jumpbox-nic" || ev["rule"] != "DenyKeyVaultOut" {
		t.Errorf("Key Vault evidence: %v", kv.Evidence)
	}
	for _, o := range outs[1:4] {
		if o.Result.Status != probes.Fail || o.Result.Rule != nil || strings.Contains(o.Result.Message, "this VM's NIC") {
			t.Errorf("%s: %s %+v %s", o.Check.ID, o.Result.Status, o.Result.Rule, o.Result.Message)
		}
	}
	if r := outs[4].Result; r.Status != probes.Fail || r.Rule == nil || !strings.Contains(r.Message, "the instance itself reports this dependency failing too, so the failure stands") {
		t.Errorf("failed by the instance too: %s %s", r.Status, r.Message)
	}
	if r := outs[5].Result; r.Status != probes.Fail || r.Rule != nil {
		t.Errorf("refused: %s %+v", r.Status, r.Rule)
	}

	// The verdict: the NIC's failure alone does not block the instance.
	rep := &report.Report{}
	rep.FromOutcomes([]probes.Outcome{outs[0]})
	if rep.Summary.Verdict != report.Degraded {
		t.Errorf("verdict %s", rep.Summary.Verdict)
	}
	fs := findings.Diagnose(findings.Input{Outcomes: outs[:1]})
	if len(fs) != 1 || fs[0].ID != findings.IDNICNSG || fs[0].Severity != report.SeverityDegrading || len(fs[0].Checks) != 1 {
		t.Fatalf("findings: %+v", fs)
	}
	if c := fs[0].Fix.Commands; len(c) != 1 || !strings.Contains(c[0], "--resource-group rg-apim --nsg-name nsg-jumpbox-nic") || !strings.Contains(c[0], "--priority 299") {
		t.Errorf("fix: %q", c)
	}

	// The instance's subnet is another (a jumpbox in a management
	// subnet): the effective view's subnet NSG is this VM's subnet's.
	other := *s
	other.InstanceSubnet = true
	outs = []probes.Outcome{silent("outbound.keyvault", "13.69.64.75:443", probes.KindTLS)}
	annotateNICNSG(outs, &other)
	if r := outs[0].Result; r.Status != probes.Warn || !strings.Contains(r.Message, "; this VM's subnet's NSG nsg-apim allows it by rule AllowKeyVaultRegional") ||
		!strings.Contains(r.Hint, "this VM's subnet's NSGs already allow it") {
		t.Errorf("another subnet judged: %s %q | %q", r.Status, r.Message, r.Hint)
	}

	// Without the effective view (a Reader), nothing is said of the NIC.
	s = nicNSGSnapshot(t, "effective-nsgs-nic-deny.json", true)
	outs = []probes.Outcome{silent("outbound.keyvault", "13.69.64.75:443", probes.KindTLS)}
	annotateNICNSG(outs, s)
	if r := outs[0].Result; r.Status != probes.Fail || r.Rule != nil {
		t.Errorf("without the effective view: %s %+v", r.Status, r.Rule)
	}
	// The recorded view without a NIC deny: the NIC's NSG allows it.
	s = nicNSGSnapshot(t, "effective-nsgs.json", false)
	outs = []probes.Outcome{silent("outbound.keyvault", "13.69.64.75:443", probes.KindTLS)}
	annotateNICNSG(outs, s)
	if r := outs[0].Result; r.Status != probes.Fail || r.Rule != nil {
		t.Errorf("NIC allows: %s %+v", r.Status, r.Rule)
	}
}

// readerSnapshot is what a Reader sees of the same jumpbox (azure-facts
// §12.6): the effective reads denied, its NIC carrying nsg-jumpbox-nic,
// whose plain GET denies Key Vault, and the subnet's nsg-apim, route table,
// virtual network and service tags as plain GETs return them.
func readerSnapshot(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	var nic map[string]any
	if err := json.Unmarshal(fixture(t, "nic.json"), &nic); err != nil {
		t.Fatal(err)
	}
	nic["properties"].(map[string]any)["networkSecurityGroup"] = map[string]any{
		"id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim/providers/Microsoft.Network/networkSecurityGroups/nsg-jumpbox-nic"}
	nicBody, _ := json.Marshal(nic)
	get := map[string][]byte{
		"/virtualMachines/jumpbox": fixture(t, "vm.json"), "/networkInterfaces/jumpbox-nic": nicBody,
		"/networkSecurityGroups/nsg-jumpbox-nic": fixture(t, "nsg-jumpbox-nic.json"),
		"/subnets/snet-apim":                     fixture(t, "subnet.json"), "/networkSecurityGroups/nsg-apim": fixture(t, "nsg-apim.json"),
		"/routeTables/rt-apim": fixture(t, "rt-apim.json"), "/virtualNetworks/vnet-hub": fixture(t, "vnet-hub.json"),
		"/serviceTags": fixture(t, "service-tags-arm.json"),
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"does not have authorization to perform action"}}`))
			return
		}
		for suffix, body := range get {
			if strings.HasSuffix(r.URL.Path, suffix) {
				w.Write(body)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := azdiscover.Discover(ctx, azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: srv.URL,
		ARMTransport: srv.Client(), TokenCredential: &azfake.TokenCredential{}, Mode: probes.ModeInternal, Phase: probes.DeployPost})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Wait(ctx)
	if s.Read(snapshot.ReadEffectiveNSGs).OK() || s.Configured == nil || s.Configured.NICNSG == nil || s.Configured.SubnetNSG == nil {
		t.Fatalf("reads: %+v; configured %+v", s.Reads, s.Configured)
	}
	return s
}

// Under a Reader the configured view shows the NIC's NSG denying what the
// subnet's allows: the message says this VM's NIC explains the failure, as
// configured; as admin rules are not in that view, the failure stands
// unless the instance itself reports the dependency reached.
func TestNICNSGOnTheConfiguredView(t *testing.T) {
	s := readerSnapshot(t)
	outs := []probes.Outcome{
		silent("outbound.keyvault", "13.69.64.75:443", probes.KindTLS),
		silent("outbound.keyvault.instance", "13.69.64.75:443", probes.KindTLS),
		// Outside Key Vault's prefixes: the NIC allows it.
		silent("outbound.storage.blob", "20.38.96.10:443", probes.KindTLS),
	}
	outs[1].Result.Instance = []probes.InstanceStatus{{Location: "West Europe", Name: "x.vault.azure.net", Status: "success"}}
	annotateNICNSG(outs, s)
	r := outs[0].Result
	for _, want := range []string{"this VM's own NIC explains the failure",
		"rule DenyKeyVaultOut (priority 300, Deny) of NSG nsg-jumpbox-nic on this VM's NIC denies Outbound TCP 443 from 10.1.2.4/32 to 13.69.64.75/32",
		"the subnet's NSG nsg-apim allows it by rule AllowKeyVaultRegional (priority 220, Allow)",
		"as configured: Virtual Network Manager's security admin rules are not in the configured view", "not observable without the effective view"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message lacks %q: %s", want, r.Message)
		}
	}
	if r.Status != probes.Fail || r.Rule == nil || !r.Rule.NIC {
		t.Errorf("configured view alone: %s %+v", r.Status, r.Rule)
	}
	if r := outs[1].Result; r.Status != probes.Warn || !strings.Contains(r.Message, "the failure is this VM's, not the subnet's") {
		t.Errorf("the instance reaches it: %s %s", r.Status, r.Message)
	}
	if r := outs[2].Result; r.Status != probes.Fail || r.Rule != nil {
		t.Errorf("storage: %s %+v", r.Status, r.Rule)
	}
}

// The instance's dependency list is probed inside one check: a host the
// NIC's NSG alone denied warns there too, the check is judged again from
// its hosts, and the NIC's finding names it.
func TestNICNSGInTheDependencyList(t *testing.T) {
	s := nicNSGSnapshot(t, "effective-nsgs-nic-deny.json", false)
	timeout := func(host, addr string) depSeen {
		return depSeen{Host: host, Port: 443, Category: "Azure Key Vault", Required: true, Status: probes.Fail, Reason: probes.ReasonTimeout,
			Phase: probes.PhaseConnect, Message: "no answer to TCP SYN to " + addr, Dialled: addr}
	}
	ir := &instanceRun{}
	judged := func(seen []depSeen) probes.Result { return depsResult(seen, nil, 2, snapshot.DepsCut{}) }
	deps := []depSeen{timeout("apikv.vault.azure.net", "13.69.64.75:443"),
		{Host: "apist.blob.core.windows.net", Port: 443, Required: true, Status: probes.Pass, Reason: probes.ReasonOK}}
	ir.set(deps, judged)
	check := probes.Check{ID: idInstanceDeps, Kind: probes.KindAnalysis, Required: true,
		Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceDeps}}
	outs := []probes.Outcome{{Check: check, Result: judged(deps)}}
	if outs[0].Result.Status != probes.Fail {
		t.Fatalf("before: %s", outs[0].Result.Status)
	}
	annotateNICDeps(outs, s, ir)
	r := outs[0].Result
	if r.Status != probes.Warn || !strings.Contains(r.Message, "apikv.vault.azure.net:443") ||
		!strings.Contains(r.Message, "the failure is this VM's, not the subnet's: rule DenyKeyVaultOut (priority 300, Deny) of NSG nsg-jumpbox-nic") ||
		!strings.Contains(r.Hint, "Add to NSG nsg-jumpbox-nic, on this VM's NIC") {
		t.Errorf("after: %s %q | %q", r.Status, r.Message, r.Hint)
	}
	parts, all := nicParts(ir.get())
	if !all || len(parts) != 1 || parts[0].Result.Rule == nil || !parts[0].Result.Rule.NIC {
		t.Fatalf("parts %v %+v", all, parts)
	}
	fs := findings.Diagnose(findings.Input{Outcomes: append(outs, parts...)})
	if len(fs) != 1 || fs[0].ID != findings.IDNICNSG || !slices.Equal(fs[0].Checks, []string{idInstanceDeps}) || fs[0].Severity != report.SeverityDegrading {
		t.Errorf("findings: %+v", fs)
	}

	// A host the NIC does not explain keeps the check failing, and the
	// parts are not all its causes.
	ir.set([]depSeen{timeout("apikv.vault.azure.net", "13.69.64.75:443"), timeout("apist.blob.core.windows.net", "20.38.96.10:443")}, judged)
	outs = []probes.Outcome{{Check: check, Result: judged(ir.get())}}
	annotateNICDeps(outs, s, ir)
	if r := outs[0].Result; r.Status != probes.Fail {
		t.Errorf("with another cause: %s %s", r.Status, r.Message)
	}
	if _, all := nicParts(ir.get()); all {
		t.Error("parts claim every failure")
	}
}
