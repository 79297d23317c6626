package run

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// --backend adds one backend.* check per host and port, the same in plan
// and run, optional unless --backend-required.
func TestBackendsInPlanAndRun(t *testing.T) {
	refused := testtool.Refusing(t)
	bs, err := catalog.ParseBackends([]string{"http://" + refused.String() + "/a", "http://" + refused.String() + "/b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, required := range []bool{false, true} {
		cfg := baseConfig(t, dnsServer(t, nil))
		cfg.Backends, cfg.BackendRequired, cfg.Only = bs, required, []string{"backend"}
		planned, rep := planAndRun(t, cfg)
		want := []string{catalog.BackendID("127.0.0.1", int(refused.Port())), "backend.discovered"}
		if p, r := ids(planned), reportIDs(rep); !slices.Equal(p, want) || !slices.Equal(r, want) {
			t.Fatalf("plan %v, run %v, want %v", p, r, want)
		}
		c := byID(rep)[want[0]]
		if c.Status != probes.Fail || c.Reason != probes.ReasonRefused || c.Required != required || c.Category != catalog.CategoryBackends {
			t.Errorf("required %v: %+v", required, c)
		}
		wantVerdict := map[bool]string{false: "degraded", true: "blocked"}[required]
		if rep.Summary.Verdict != wantVerdict {
			t.Errorf("required %v: verdict %s, want %s", required, rep.Summary.Verdict, wantVerdict)
		}
	}
}

// armWith serves the instance (apim.json) and the given bodies by the
// last element of their path ("backends", "apis", "connectivityCheck"
// …); every other read is 404.
func armWith(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if h, ok := routes[r.Method+" "+last]; ok {
			h(w, r)
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Microsoft.ApiManagement/service/contoso") {
			w.Write(fixture(t, "apim.json"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func jsonBody(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }
}

// The instance's backends become checks of their own: de-duplicated
// against --backend and each other, a placeholder skipped as no-data, a
// URL that is not http(s) named as not checked.
func TestDiscoveredBackendsAreChecksOfTheirOwn(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	t.Cleanup(up.Close)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	refused := testtool.Refusing(t).String()
	given := testtool.Refusing(t).String()
	arm := armWith(t, map[string]http.HandlerFunc{
		"GET backends": jsonBody(`{"value":[{"name":"orders","properties":{"url":"http://` + upAddr + `/orders"}},{"name":"sf","properties":{"url":"fabric:/app/svc"}},{"name":"mine","properties":{"url":"http://` + given + `/x"}}]}`),
		"GET apis":     jsonBody(`{"value":[{"name":"orders-api","properties":{"serviceUrl":"http://` + upAddr + `/v2"}},{"name":"billing","properties":{"serviceUrl":"http://` + refused + `/"}},{"name":"echo","properties":{"serviceUrl":"{{echo-host}}/echo"}}]}`),
	})
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.Service, cfg.Only, cfg.Timeout = "contoso", []string{"backend"}, 2*time.Second
	cfg.Backends, _ = catalog.ParseBackends([]string{"http://" + given + "/"})
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	schematest.ValidateReport(t, rep)
	got := byID(rep)
	idOf := func(hostport string) string {
		h, p, _ := net.SplitHostPort(hostport)
		n, _ := strconv.Atoi(p)
		return catalog.BackendID(h, n)
	}
	want := []string{"backend.discovered", "backend.named-value.echo-host", idOf(given), idOf(refused), idOf(upAddr)}
	slices.Sort(want)
	if r := reportIDs(rep); !slices.Equal(r, want) {
		t.Fatalf("ids %v, want %v", r, want)
	}
	d := got["backend.discovered"]
	if d.Status != probes.Pass || !strings.Contains(d.Message, "6 URLs") || !strings.Contains(d.Message, "backend sf (fabric:/app/svc: not an http or https URL)") {
		t.Errorf("backend.discovered: %s %q", d.Status, d.Message)
	}
	if c := got[idOf(upAddr)]; c.Status != probes.Pass || !strings.Contains(c.Message, "authentication refused") ||
		!slices.Equal(toStrings(c.Evidence["sources"]), []string{"backend orders", "API orders-api"}) {
		t.Errorf("orders: %+v", c)
	}
	if c := got[idOf(refused)]; c.Status != probes.Fail || c.Reason != probes.ReasonRefused || c.Hint == "" {
		t.Errorf("billing: %+v", c)
	}
	if c := got[idOf(given)]; !slices.Equal(toStrings(c.Evidence["sources"]), []string{"--backend"}) {
		t.Errorf("a backend given with --backend is probed once, by its own check: %+v", c)
	}
	if c := got["backend.named-value.echo-host"]; c.Status != probes.Skip || c.Reason != probes.ReasonNoData {
		t.Errorf("placeholder: %+v", c)
	}
}

func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
	}
	return out
}

// Without Resource Manager backend.discovered is not observable and says
// how to list the backends by hand.
func TestDiscoveredBackendsWithoutResourceManager(t *testing.T) {
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.Service, cfg.Only = "contoso", []string{"backend"}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := byID(rep)["backend.discovered"]
	if d.Status != probes.Skip || d.Reason != probes.ReasonNotObservable || !strings.Contains(d.Hint, "az apim backend list") {
		t.Errorf("%+v", d)
	}
}

// connectivityAnswers answers ConnectivityCheck synchronously (200) by
// the destination's address: Connected unless listed.
func connectivityAnswers(t *testing.T, bodies map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Source      struct{ Region string }
			Destination struct {
				Address string
				Port    int
			}
			Protocol string
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Source.Region == "" {
			t.Errorf("ConnectivityCheck request: %+v %v", req, err)
		}
		if b, ok := bodies[req.Destination.Address]; ok {
			w.Write([]byte(b))
			return
		}
		w.Write([]byte(`{"hops":[{"type":"Source","address":"10.1.2.6"},{"type":"Internet","address":"20.0.0.1"}],"connectionStatus":"Connected","probesSent":3,"probesFailed":0}`))
	}
}

const disconnectedNSG = `{"hops":[{"type":"Source","address":"10.1.2.6","issues":[{"origin":"Outbound","severity":"Error","type":"NetworkSecurityRule","context":[{"RuleName":"DenyBackends"}]}]}],"connectionStatus":"Disconnected","probesSent":3,"probesFailed":3}`

// --instance-probe: the instance's answer sits beside each backend's own
// verdict, compared; instance.probe fails for a required destination the
// instance cannot reach and names where the two disagree.
func TestInstanceProbeBesideThisVM(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(up.Close)
	upURL := up.URL + "/"
	refused := "http://" + testtool.Refusing(t).String() + "/"
	both := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(both.Close)
	arm := armWith(t, map[string]http.HandlerFunc{
		"POST connectivityCheck": connectivityAnswers(t, map[string]string{upURL: disconnectedNSG, refused: disconnectedNSG}),
	})
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.Service, cfg.Only, cfg.Timeout, cfg.InstanceProbe, cfg.BackendRequired = "contoso", []string{"backend", "instance.probe"}, 2*time.Second, true, true
	cfg.Backends, _ = catalog.ParseBackends([]string{upURL, refused, both.URL + "/"})
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}
	planned, rep := planAndRun(t, cfg)
	if p, r := ids(planned), reportIDs(rep); !slices.Equal(p, r) {
		t.Fatalf("plan %v, run %v", p, r)
	}
	got := byID(rep)
	agreement := func(id string) string {
		ip, _ := got[id].Evidence["instance_probe"].(map[string]any)
		s, _ := ip["agreement"].(string)
		return s
	}
	idOf := func(raw string) string {
		b, _ := catalog.ParseBackend(raw)
		return b.ID()
	}
	for raw, want := range map[string]probes.Agreement{upURL: probes.AgreeInstanceFails, refused: probes.AgreeBothFail, both.URL + "/": probes.AgreeBothReach} {
		if a := agreement(idOf(raw)); a != string(want) {
			t.Errorf("%s: agreement %q, want %q (%v)", raw, a, want, got[idOf(raw)].Evidence["instance_probe"])
		}
	}
	p := got["instance.probe"]
	if p.Status != probes.Fail || p.Reason != probes.ReasonNSGRule || !strings.Contains(p.Message, "reached 1 of 3") ||
		!strings.Contains(p.Message, "NetworkSecurityRule at Source 10.1.2.6 (RuleName=DenyBackends)") ||
		!strings.Contains(p.Message, "disagree on "+idOf(upURL)+" (this VM reaches it, the instance does not)") || p.Hint == "" {
		t.Errorf("instance.probe: %s/%s %q | %q", p.Status, p.Reason, p.Message, p.Hint)
	}
}

// Without the action the identity may not run ConnectivityCheck:
// instance.probe is not observable and names what to allow.
func TestInstanceProbeDenied(t *testing.T) {
	arm := armWith(t, map[string]http.HandlerFunc{
		"POST connectivityCheck": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"no"}}`))
		},
	})
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.Service, cfg.Only, cfg.InstanceProbe = "contoso", []string{"backend", "instance.probe"}, true
	cfg.Backends, _ = catalog.ParseBackends([]string{"http://" + testtool.Refusing(t).String() + "/"})
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := byID(rep)["instance.probe"]
	if p.Status != probes.Skip || p.Reason != probes.ReasonNotObservable || !strings.Contains(p.Hint, "az provider operation show -n Microsoft.ApiManagement") {
		t.Errorf("%s/%s %q | %q", p.Status, p.Reason, p.Message, p.Hint)
	}
}
