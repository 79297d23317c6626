package catalog

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

func TestParseBackendAcceptsAndCleans(t *testing.T) {
	for _, c := range []struct {
		raw, url, host string
		port           int
		id             string
	}{
		{"https://API.Contoso.com/orders?sig=SECRET", "https://api.contoso.com/orders", "api.contoso.com", 443, "backend.api-contoso-com-443"},
		{"http://orders.internal.contoso.com:8080", "http://orders.internal.contoso.com:8080/", "orders.internal.contoso.com", 8080, "backend.orders-internal-contoso-com-8080"},
		{"https://198.18.7.9:8443/x", "https://198.18.7.9:8443/x", "198.18.7.9", 8443, "backend.198-18-7-9-8443"},
		{"https://[2001:db8::1]/", "https://[2001:db8::1]:443/", "2001:db8::1", 443, "backend.2001-db8--1-443"},
		{"https://legacy.contoso.com./", "https://legacy.contoso.com/", "legacy.contoso.com", 443, "backend.legacy-contoso-com-443"},
	} {
		b, err := ParseBackend(c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if b.URL != c.url || b.Host != c.host || b.Port != c.port || b.ID() != c.id {
			t.Errorf("%s: got url %q host %q port %d id %q, want %q %q %d %q", c.raw, b.URL, b.Host, b.Port, b.ID(), c.url, c.host, c.port, c.id)
		}
	}
}

func TestParseBackendRefusesWithOneCleanLine(t *testing.T) {
	long := "https://" + strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + ".com/"
	for _, c := range []struct{ raw, want string }{
		{"api.contoso.com", "write it with its scheme"},
		{"ftp://files.contoso.com/", "want http or https"},
		{"https://user:hunter2@api.contoso.com/", "leave credentials out"},
		{"https://api.contoso.com/\nX-Evil: 1", "one URL per flag"},
		{"https://{{backend-host}}/api", "named-value placeholder"},
		{"https://api.contoso.com:70000/", "want 1 to 65535"},
		{"https://api con.com/", "not a URL"},
		{"https://bad!host.com/", "neither a DNS name"},
		{long, "at most 253"},
		{"", "empty URL"},
	} {
		_, err := ParseBackend(c.raw)
		if err == nil {
			t.Errorf("%q accepted", c.raw)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "hunter2") || !strings.HasPrefix(msg, "--backend") {
			t.Errorf("%q: %q, want one line starting --backend, holding %q and no password", c.raw, msg, c.want)
		}
	}
}

func TestParseBackendsDeduplicatesAndBounds(t *testing.T) {
	bs, err := ParseBackends([]string{"https://api.contoso.com/a", "https://API.contoso.com:443/b", "http://api.contoso.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Key() != "api.contoso.com:443" || bs[1].Key() != "api.contoso.com:80" {
		t.Errorf("got %+v, want one backend per host and port", bs)
	}
	var many []string
	for i := range MaxBackends + 1 {
		many = append(many, fmt.Sprintf("https://b%d.contoso.com/", i))
	}
	if _, err := ParseBackends(many); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d backends: %v, want refused", len(many), err)
	}
}

func TestDiscoveredBackendPlaceholders(t *testing.T) {
	b, ok := DiscoveredBackend("https://{{orders-host}}/api/v1", "backend orders")
	if !ok || b.Placeholder != "orders-host" || b.ID() != "backend.named-value.orders-host" {
		t.Fatalf("placeholder host: %+v %v", b, ok)
	}
	b, ok = DiscoveredBackend("{{echo-url}}/echo", "API echo")
	if !ok || b.Placeholder != "echo-url" {
		t.Errorf("placeholder without scheme: %+v %v", b, ok)
	}
	// A placeholder in the path only: the host is known and probed at /.
	b, ok = DiscoveredBackend("https://api.contoso.com/{{version}}/orders", "API orders")
	if !ok || b.Placeholder != "" || b.URL != "https://api.contoso.com/" || b.ID() != "backend.api-contoso-com-443" {
		t.Errorf("placeholder in the path: %+v %v", b, ok)
	}
	for _, raw := range []string{"", "ftp://x.contoso.com/", "https://u:p@x.contoso.com/", "not a url at all"} {
		if b, ok := DiscoveredBackend(raw, "API x"); ok {
			t.Errorf("%q: accepted as %+v", raw, b)
		}
	}
}

func TestBackendChecksDeduplicateAndStayUnique(t *testing.T) {
	a, _ := ParseBackend("https://a-b.c.com/")
	a2, _ := DiscoveredBackend("https://a-b.c.com/x", "backend x")
	b, _ := ParseBackend("https://a.b-c.com/") // cleans to the same id
	p, _ := DiscoveredBackend("https://{{h}}/", "API y")
	checks := BackendChecks([]Backend{a, a2, b, p}, BackendOptions{Required: true})
	if len(checks) != 3 {
		t.Fatalf("%d checks, want 3", len(checks))
	}
	ids := map[string]probes.Check{}
	for _, c := range checks {
		if _, dup := ids[c.ID]; dup {
			t.Errorf("id %s twice", c.ID)
		}
		ids[c.ID] = c
		if c.Category != CategoryBackends || c.Area != probes.AreaBackend {
			t.Errorf("%s: category %q, area %q", c.ID, c.Category, c.Area)
		}
	}
	if c, ok := ids["backend.a-b-c-com-443"]; !ok || !c.Required || !strings.Contains(c.Why, "--backend, backend x") {
		t.Errorf("merged check: %+v", c)
	}
	if _, ok := ids["backend.a-b-c-com-443-2"]; !ok {
		t.Errorf("second host with the same cleaned id: got %v", ids)
	}
	if c := ids["backend.named-value.h"]; c.Preset == nil || c.Preset.Status != probes.Skip || c.Preset.Reason != probes.ReasonNoData || c.Required != true {
		t.Errorf("placeholder: %+v", c)
	}
}

// loopResolver answers every name with 127.0.0.1.
type loopResolver struct{}

func (loopResolver) AnswersLoopback() bool { return true }
func (loopResolver) LookupHost(context.Context, string) ([]string, error) {
	return []string{"127.0.0.1"}, nil
}

func runBackend(t *testing.T, raw string, o BackendOptions) probes.Result {
	t.Helper()
	b, err := ParseBackend(raw)
	if err != nil {
		t.Fatal(err)
	}
	o.Resolver = loopResolver{}
	ch := BackendCheck(b, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	outs := probes.Run(ctx, []probes.Check{ch}, probes.RunOptions{Timeout: 2 * time.Second, Deadline: 4 * time.Second, Concurrency: 1})
	return outs[0].Result
}

func tlsBackend(t *testing.T, h http.HandlerFunc) (port int, roots *x509.CertPool) {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ = strconv.Atoi(p)
	return port, srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
}

func TestBackendProbeAnyStatusIsReached(t *testing.T) {
	for _, c := range []struct {
		status int
		want   string
	}{
		{200, "reached: HTTP 200"},
		{401, "reached, authentication refused (HTTP 401"},
		{403, "reached, authentication refused (HTTP 403"},
		{503, "reached: HTTP 503"},
		// A redirect is the backend's answer: not followed elsewhere.
		{302, "reached: HTTP 302"},
	} {
		port, roots := tlsBackend(t, func(w http.ResponseWriter, r *http.Request) {
			if c.status == 302 {
				w.Header().Set("Location", "https://login.elsewhere.test/")
			}
			w.WriteHeader(c.status)
		})
		r := runBackend(t, fmt.Sprintf("https://example.com:%d/orders", port), BackendOptions{RootCAs: roots})
		if r.Status != probes.Pass || !strings.Contains(r.Message, c.want) || !strings.Contains(r.Message, "this machine's trust store") {
			t.Errorf("HTTP %d: %s/%s %q, want pass saying %q and naming the trust store", c.status, r.Status, r.Reason, r.Message, c.want)
		}
		if r.Evidence["trust_store"] != "this machine's" || r.Evidence["http_status"] != c.status {
			t.Errorf("HTTP %d: evidence %v", c.status, r.Evidence)
		}
	}
}

func TestBackendProbeFailures(t *testing.T) {
	port, roots := tlsBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	// The trust store judges: the test CA is not this machine's.
	r := runBackend(t, fmt.Sprintf("https://example.com:%d/", port), BackendOptions{RootCAs: x509.NewCertPool()})
	if r.Status != probes.Fail || r.Reason != probes.ReasonTLSUntrusted || r.FailedPhase != probes.PhaseTLS ||
		!strings.Contains(r.Message, "judged by this machine's trust store") || !strings.Contains(r.Hint, "upload its CA certificate") {
		t.Errorf("untrusted: %s/%s/%s %q | %q", r.Status, r.Reason, r.FailedPhase, r.Message, r.Hint)
	}
	// A name the certificate does not cover.
	r = runBackend(t, fmt.Sprintf("https://orders.contoso.test:%d/", port), BackendOptions{RootCAs: roots})
	if r.Status != probes.Fail || r.Reason != probes.ReasonTLSNameMismatch || !strings.Contains(r.Hint, "reissue it for orders.contoso.test") {
		t.Errorf("name mismatch: %s/%s %q | %q", r.Status, r.Reason, r.Message, r.Hint)
	}
	// Nothing listens: refused in connect, with its own hint.
	refused := testtool.Refusing(t).Port()
	r = runBackend(t, fmt.Sprintf("http://billing.contoso.test:%d/", refused), BackendOptions{Required: true})
	if r.Status != probes.Fail || r.Reason != probes.ReasonRefused || r.FailedPhase != probes.PhaseConnect || !strings.Contains(r.Hint, "Nothing accepts connections") {
		t.Errorf("refused: %s/%s/%s %q | %q", r.Status, r.Reason, r.FailedPhase, r.Message, r.Hint)
	}
}

func TestBackendProbeNamesPrivateEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	pl := func(_ context.Context, host string) string {
		if host == "orders.contoso.test" {
			return "orders.privatelink.contoso.test"
		}
		return ""
	}
	r := runBackend(t, "http://orders.contoso.test:"+p+"/", BackendOptions{PrivateLink: pl})
	if r.Status != probes.Pass || !strings.Contains(r.Message, "through a private endpoint (CNAME orders.privatelink.contoso.test)") ||
		r.Evidence["private_endpoint"] != "orders.privatelink.contoso.test" {
		t.Errorf("private endpoint: %s %q %v", r.Status, r.Message, r.Evidence)
	}
	if _, ok := r.Evidence["trust_store"]; ok {
		t.Errorf("plain HTTP has no trust store to name: %v", r.Evidence)
	}
}

// A backend entity that turns the gateway's chain check off: a chain this
// machine refuses is reported, and the completed handshake is what
// counts; merged with a source that checks, the check stays on.
func TestBackendWithoutCertificateChecks(t *testing.T) {
	port, _ := tlsBackend(t, func(w http.ResponseWriter, r *http.Request) {})
	raw := fmt.Sprintf("https://example.com:%d/", port)
	b, _ := DiscoveredBackend(raw, "backend legacy")
	b.NoChainCheck = true
	o := BackendOptions{RootCAs: x509.NewCertPool(), Resolver: loopResolver{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := BackendCheck(b, o).Probe.Run(ctx)
	if r.Status != probes.Pass || !strings.Contains(r.Message, "turns the gateway's certificate check off") || r.Evidence["certificate_checks"] != "off in the backend entity" {
		t.Errorf("%s/%s %q %v", r.Status, r.Reason, r.Message, r.Evidence)
	}
	api, _ := DiscoveredBackend(raw, "API legacy-api")
	merged := DedupBackends([]Backend{b, api})
	if len(merged) != 1 || merged[0].NoChainCheck {
		t.Errorf("merged %+v: an API calling the URL directly checks the chain", merged)
	}
}
