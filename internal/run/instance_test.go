package run

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// instanceARM answers the instance's read and its own view: NetworkStatus
// (status, as JSON) and the dependency list (deps).
func instanceARM(t *testing.T, status, deps string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case strings.HasSuffix(p, "/Microsoft.ApiManagement/service/contoso"):
			w.Write(fixture(t, "apim.json"))
		case strings.HasSuffix(p, "/service/contoso/networkstatus"):
			w.Write([]byte(status))
		case strings.HasSuffix(p, "/service/contoso/outboundNetworkDependenciesEndpoints"):
			w.Write([]byte(deps))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func row(name, status, errText, rt string, optional bool, updated time.Time) string {
	return fmt.Sprintf(`{"name": %q, "status": %q, "error": %q, "lastUpdated": %q, "lastStatusChange": %q, "resourceType": %q, "isOptional": %v}`,
		name, status, errText, updated.UTC().Format(time.RFC3339Nano), updated.Add(-time.Hour).UTC().Format(time.RFC3339Nano), rt, optional)
}

// A whole run beside an instance whose view disagrees with this VM's in
// every way the instance.* checks tell apart.
func TestInstanceViewBesideOurs(t *testing.T) {
	// The platform's storage account answers here; its SQL server refuses.
	open := int(testtool.Accepting(t).Port())
	closed := closedURL(t)
	closedPort := closed[strings.LastIndexByte(closed, ':')+1:]

	// Loopback answers from DNS are a sinkhole's and never dialled: the
	// platform's hosts are listed by address here (the lab has the names).
	dnsAddr := dnsServer(t, nil)
	now := time.Now()
	status := `[{"location": "West Europe", "networkStatus": {"dnsServers": ["10.9.9.9"], "connectivityStatus": [` + strings.Join([]string{
		// The instance fails what this VM reaches…
		row(fmt.Sprintf("127.0.0.1:%d", open), "failure", "Connection timed out", "BlobStorage", false, now.Add(-time.Minute)),
		// … and reaches what this VM cannot.
		row("https://127.0.0.1:"+closedPort+"/", "success", "", "SQLDatabase", false, now.Add(-2*time.Minute)),
		row("https://partner.prod.repmap.microsoft.com", "failure", "No such host is known", "CaptchaEndpoint", true, now.Add(-time.Hour)),
		row("LocalGatewayRedis", "success", "", "InternalCache", true, now.Add(-time.Minute)),
	}, ",") + `]}}]`
	deps := fmt.Sprintf(`{"value": [
		{"category": "Azure Storage", "endpoints": [{"domainName": "127.0.0.1", "endpointDetails": [{"port": %d, "region": "West Europe"}]}]},
		{"category": "Azure SQL", "endpoints": [{"domainName": "127.0.0.1", "endpointDetails": [{"port": %s, "region": "West Europe"}]}]},
		{"category": "Portal Captcha", "endpoints": [{"domainName": "*.hip.live.com", "endpointDetails": [{"port": 443}]}]}
	]}`, open, closedPort)
	arm := instanceARM(t, status, deps)

	cfg := baseConfig(t, dnsAddr)
	cfg.Service, cfg.Only = "contoso", []string{"instance"}
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal, Phase: probes.DeployPost}
	planned, rep := planAndRun(t, cfg)
	if p, r := ids(planned), reportIDs(rep); !slices.Equal(p, r) || len(p) != 6 {
		t.Fatalf("plan and run disagree:\nplan: %v\nrun:  %v", p, r)
	}
	got := byID(rep)
	want := func(id string, st probes.Status, reason probes.Reason, contains ...string) {
		t.Helper()
		c := got[id]
		if c.Status != st || c.Reason != reason {
			t.Errorf("%s: %s/%s, want %s/%s: %s", id, c.Status, c.Reason, st, reason, c.Message)
		}
		for _, s := range contains {
			if !strings.Contains(c.Message+" | "+c.Hint, s) {
				t.Errorf("%s: %q not in %q | %q", id, s, c.Message, c.Hint)
			}
		}
	}
	want("instance.dependencies", probes.Fail, probes.ReasonRefused, "127.0.0.1:"+closedPort+" (Azure SQL, refused)",
		"the instance itself reports success (West Europe", "NSG and route table of the instance's subnet")
	want("instance.required", probes.Fail, probes.ReasonUnreachable, fmt.Sprintf("127.0.0.1:%d (BlobStorage", open), "Connection timed out",
		"this VM reaches it (instance.dependencies", "15 minutes old")
	want("instance.optional", probes.Warn, probes.ReasonUnreachable, "partner.prod.repmap.microsoft.com", "No such host is known")
	want("instance.stale", probes.Warn, probes.ReasonTimeout, "1 of 4 rows of West Europe", "more than 30 minutes")
	want("instance.dns", probes.Warn, probes.ReasonResolverDisagree, "West Europe uses 10.9.9.9", dnsAddr.Addr().String(), "--dns-server")

	// The evidence lists each dependency probed, with the instance's side.
	ev := got["instance.dependencies"].Evidence["dependencies"].([]any)
	if len(ev) != 2 {
		t.Fatalf("dependencies evidence: %v", ev)
	}
	sql := ev[0].(map[string]any)
	if sql["category"] != "Azure SQL" {
		sql = ev[1].(map[string]any)
	}
	if sql["category"] != "Azure SQL" || sql["status"] != "fail" || sql["required"] != true {
		t.Errorf("SQL entry: %v", sql)
	}
	if is := sql["instance_status"].([]any)[0].(map[string]any); is["status"] != "success" || is["last_updated"] == nil {
		t.Errorf("SQL entry's instance status: %v", is)
	}
}

// Before deployment, and without Resource Manager, the instance.* checks
// are skips whose hint names the az command that shows the same.
func TestInstanceChecksSkipWithoutTheView(t *testing.T) {
	dnsAddr := dnsServer(t, nil)
	cfg := baseConfig(t, dnsAddr)
	cfg.Service, cfg.Only = "contoso", []string{"instance"}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	schematest.ValidateReport(t, rep)
	for _, c := range rep.Checks {
		if c.ID == "instance.mode" {
			continue // the instance's resource, not its view (discover tests it)
		}
		if c.Status != probes.Skip || c.Reason != probes.ReasonNotObservable || !strings.Contains(c.Hint, "az rest --method get --url") ||
			!strings.Contains(c.Hint, "/networkstatus?api-version=2024-05-01") {
			t.Errorf("no ARM: %s %s/%s %s | %s", c.ID, c.Status, c.Reason, c.Message, c.Hint)
		}
	}
	cfg.Phase = probes.DeployPre
	rep, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.ID == "instance.mode" {
			continue
		}
		if c.Status != probes.Skip || c.Reason != probes.ReasonNotApplicable || !strings.Contains(c.Hint, "az rest --method get --url") {
			t.Errorf("pre: %s %s/%s %s | %s", c.ID, c.Status, c.Reason, c.Message, c.Hint)
		}
	}
}

// Each check that matches a NetworkStatus row by host, port and resource
// type carries the instance's side, and a disagreement says so.
func TestAnnotateInstance(t *testing.T) {
	now := time.Now()
	v := &snapshot.InstanceView{Locations: []snapshot.LocationStatus{{Location: "West Europe", Rows: []snapshot.StatusRow{
		{Name: "labstore.blob.core.windows.net", Host: "labstore.blob.core.windows.net", Port: 443, ResourceType: "BlobStorage", Status: "success", LastUpdated: now},
		{Name: "labstore.table.core.windows.net", Host: "labstore.table.core.windows.net", Port: 443, ResourceType: "TableStorage", Status: "failure", Error: "timed out", LastUpdated: now},
		{Name: "https://contoso.management.azure-api.net:3443/servicestatus", Host: "contoso.management.azure-api.net", Port: 3443,
			ResourceType: "ApiManagement Control Plane - inbound", Status: "success", LastUpdated: now},
	}}}}
	out := func(id, host string, port int, rt string, st probes.Status) probes.Outcome {
		res := probes.Result{Status: st, Reason: probes.ReasonOK, Message: "seen", Hint: "fix it."}
		if st != probes.Pass {
			res.Reason = probes.ReasonTimeout
		}
		return probes.Outcome{Check: probes.Check{ID: id, Target: probes.HostPort(host, port), Facets: probes.Facets{ResourceType: rt}}, Result: res}
	}
	outs := []probes.Outcome{
		out("outbound.storage.blob", "labstore.blob.core.windows.net", 443, "BlobStorage", probes.Fail),
		out("outbound.storage.table", "labstore.table.core.windows.net", 443, "TableStorage", probes.Pass),
		out("outbound.storage.queue", "labstore.queue.core.windows.net", 443, "Queue", probes.Fail),
		out("outbound.storage.blob-other-type", "labstore.blob.core.windows.net", 443, "FileStorage", probes.Fail),
		{Check: probes.Check{ID: "route.management-return", Target: probes.Subject("routes"), Facets: probes.Facets{ResourceType: "ApiManagement Control Plane - inbound"}},
			Result: probes.Result{Status: probes.Pass, Reason: probes.ReasonOK}},
		{Check: probes.Check{ID: "route.management-return", Kind: probes.KindAnalysis, Target: probes.Subject("routes"), Facets: probes.Facets{ResourceType: "ApiManagement Control Plane - inbound"}},
			Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonAsymmetricRoute, Message: "replies are dropped"}},
	}
	annotateInstance(outs, v)
	if r := outs[0].Result; len(r.Instance) != 1 || r.Instance[0].Status != "success" ||
		!strings.Contains(r.Message, "the instance reaches what this VM does not") || !strings.Contains(r.Hint, "fix it. The two views") {
		t.Errorf("this VM fails, the instance reaches: %+v", r)
	}
	if r := outs[1].Result; len(r.Instance) != 1 || !strings.Contains(r.Message, "failure: timed out") || !strings.Contains(r.Message, "this VM reaches what the instance does not") {
		t.Errorf("this VM reaches, the instance fails: %+v", r)
	}
	if r := outs[2].Result; r.Instance != nil || r.Message != "seen" {
		t.Errorf("no row: %+v", r)
	}
	if r := outs[3].Result; r.Instance != nil {
		t.Errorf("another resource type matched: %+v", r)
	}
	if r := outs[4].Result; len(r.Instance) != 1 || r.Message != "" {
		t.Errorf("control plane by resource type: %+v", r)
	}
	// An analysis reached nothing: the instance's success is about its
	// own traffic.
	if r := outs[5].Result; !strings.Contains(r.Message, "its own traffic gets through today") || strings.Contains(r.Message, "reaches what this VM") {
		t.Errorf("an analysis the instance contradicts: %q", r.Message)
	}
	// The report writes the instance's side as evidence.
	rep := &report.Report{}
	rep.FromOutcomes(outs)
	if ev := rep.Checks[0].Evidence; ev == nil || ev["instance_status"] == nil {
		t.Errorf("evidence: %v", rep.Checks[0])
	}
}

// A view whose read got no answer sends the operator to the network first,
// with the command to run where Resource Manager can be reached.
func TestInstanceViewThatGotNoAnswer(t *testing.T) {
	r := &snapshot.Read{Name: snapshot.ReadNetworkStatus, Status: snapshot.ReadUnreachable, CLI: "az rest …",
		Message: "not made: the apim read got no answer from Resource Manager (refused): connection refused"}
	res := viewUnavailable(&snapshot.InstanceView{Status: r, Deps: r, Endpoint: "management.azure.com on TCP 443"}, "contoso", false)
	if res.NeedsARM == nil || res.NeedsARM.Unreachable != "management.azure.com on TCP 443" ||
		!strings.HasPrefix(res.Hint, "Let this VM resolve and reach Resource Manager, management.azure.com on TCP 443") ||
		!strings.Contains(res.Hint, "or run `az rest --method get --url") || !strings.Contains(res.Message, "got no answer") {
		t.Errorf("%+v", res)
	}
}

// A stock Ubuntu jumpbox (azure-facts §12.1): /etc/resolv.conf names
// systemd-resolved's stub 127.0.0.53, the VNet's servers are in
// /run/systemd/resolve/resolv.conf. The instance's NetworkStatus lists the
// VNet's servers, never the stub: they are compared with the upstreams, and
// the report's context lists both, each with its source.
func TestInstanceDNSBehindLocalStub(t *testing.T) {
	dnsAddr := dnsServer(t, nil)
	now := time.Now()
	status := `[{"location": "West Europe", "networkStatus": {"dnsServers": ["198.18.0.4", "198.18.0.5"], "connectivityStatus": [` +
		row("apimstlab0001.blob.core.windows.net", "success", "", "BlobStorage", false, now.Add(-time.Minute)) + `]}}]`
	arm := instanceARM(t, status, `{"value": []}`)
	dir := t.TempDir()
	stub, err := os.ReadFile(filepath.Join("..", "..", "resolver", "testdata", "ubuntu-stub-resolv.conf"))
	if err != nil {
		t.Fatal(err)
	}
	resolvConf, upstreams := filepath.Join(dir, "stub-resolv.conf"), filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolvConf, stub, 0o644); err != nil {
		t.Fatal(err)
	}
	systemd := "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n# Do not edit.\n\nnameserver 198.18.0.4\nnameserver 198.18.0.5\nsearch qk1x2ab3cdefghijklmnopqrst.ax.internal.cloudapp.net\n"
	if err := os.WriteFile(upstreams, []byte(systemd), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(t, dnsAddr)
	cfg.ResolvConf, cfg.SystemdResolvConf, cfg.DNSServers = resolvConf, upstreams, nil
	cfg.Service, cfg.Only = "contoso", []string{"instance.dns"}
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal, Phase: probes.DeployPost}
	_, rep := planAndRun(t, cfg)
	c := byID(rep)["instance.dns"]
	if c.Status != probes.Pass || !strings.Contains(c.Message, "198.18.0.4, 198.18.0.5, behind its local stub resolver 127.0.0.53") {
		t.Errorf("instance.dns %s/%s: %s", c.Status, c.Reason, c.Message)
	}
	want := map[string]string{"127.0.0.53:53": "resolv.conf", "198.18.0.4:53": "systemd-resolved", "198.18.0.5:53": "systemd-resolved", dnsAddr.String(): "azure-dns"}
	if got := rep.Context.ResolverSources; !maps.Equal(got, want) || rep.Context.ResolverNote != "" {
		t.Errorf("resolver sources %v (note %q), want %v", got, rep.Context.ResolverNote, want)
	}

	// Without systemd-resolved's file the upstreams are unknown: said in
	// the context and in the check, which cannot compare.
	cfg.SystemdResolvConf = filepath.Join(dir, "absent")
	_, rep = planAndRun(t, cfg)
	c = byID(rep)["instance.dns"]
	if c.Status != probes.Skip || c.Reason != probes.ReasonNoData || !strings.Contains(c.Message, "127.0.0.53") || !strings.Contains(c.Hint, "--dns-server") {
		t.Errorf("instance.dns without upstreams: %s/%s: %s | %s", c.Status, c.Reason, c.Message, c.Hint)
	}
	if n := rep.Context.ResolverNote; !strings.Contains(n, "absent") || !strings.Contains(n, "127.0.0.53") {
		t.Errorf("resolver note %q", n)
	}
}

// Rows are refreshed about every 15 minutes at staggered times (§12.8): a
// row 20 minutes old has not missed a refresh; one 40 minutes old has. A
// row without a usable date is counted, never judged stale.
func TestInstanceStaleAfterAMissedRefresh(t *testing.T) {
	now := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	view := func(ages ...time.Duration) *snapshot.InstanceView {
		var rows []snapshot.StatusRow
		for _, a := range ages {
			r := snapshot.StatusRow{Name: "x.blob.core.windows.net", Status: "success"}
			if a >= 0 {
				r.LastUpdated = now.Add(-a)
			}
			rows = append(rows, r)
		}
		return &snapshot.InstanceView{Locations: []snapshot.LocationStatus{{Location: "West Europe", Rows: rows}}}
	}
	r := instanceStale(view(2*time.Minute, 17*time.Minute, 29*time.Minute, -1), now)
	if r.Status != probes.Pass || !strings.Contains(r.Message, "3 dated rows was updated within the last 30 minutes") || !strings.Contains(r.Message, "1 rows carry no date") {
		t.Errorf("staggered rows: %s/%s: %s", r.Status, r.Reason, r.Message)
	}
	r = instanceStale(view(2*time.Minute, 40*time.Minute, -1), now)
	if r.Status != probes.Warn || r.Reason != probes.ReasonTimeout || !strings.Contains(r.Message, "1 of 3 rows of West Europe were last updated more than 30 minutes ago") {
		t.Errorf("a missed refresh: %s/%s: %s", r.Status, r.Reason, r.Message)
	}
	r = instanceStale(view(-1, -1), now)
	if r.Status != probes.Skip || r.Reason != probes.ReasonNoData {
		t.Errorf("no dated row: %s/%s: %s", r.Status, r.Reason, r.Message)
	}
}

// Without --mode the mode is the instance's (virtualNetworkType, SKU): the
// check list is built after the instance's read, by that mode, and the
// context says where the mode came from.
func TestModeFromTheInstance(t *testing.T) {
	dnsAddr := dnsServer(t, nil)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/Microsoft.ApiManagement/service/contoso") {
			w.Write([]byte(strings.Replace(string(fixture(t, "apim.json")), `"virtualNetworkType": "Internal"`, `"virtualNetworkType": "External"`, 1)))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
	}))
	t.Cleanup(srv.Close)
	cfg := baseConfig(t, dnsAddr)
	cfg.Mode, cfg.Service, cfg.Only = "", "contoso", []string{"instance.mode", "subnet.nsg.inbound-443"}
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: srv.URL,
		ARMTransport: srv.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Phase: probes.DeployPost, ModeAuto: true}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Context.Mode != probes.ModeExternal || rep.Context.Sources["mode"] != "arm" {
		t.Errorf("mode %q from %q, want external from arm", rep.Context.Mode, rep.Context.Sources["mode"])
	}
	got := byID(rep)
	if c := got["instance.mode"]; c.Status != probes.Pass || !strings.Contains(c.Message, "mode external, taken from the instance") {
		t.Errorf("instance.mode: %s %s", c.Status, c.Message)
	}
	if c := got["subnet.nsg.inbound-443"]; c.Reason == probes.ReasonNotApplicable {
		t.Errorf("the checks were built for internal mode: %s %s", c.Status, c.Message)
	}
}
