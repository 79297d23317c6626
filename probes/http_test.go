package probes

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// httpsServer serves handler over TLS with a leaf for host from ca.
func httpsServer(t testing.TB, ca *testCA, host string, handler http.HandlerFunc) int {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, host)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return portOf(t, srv.Listener.Addr())
}

func TestHTTPOutcomes(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "graph.test"
	res := mapResolver{host: {"127.0.0.1"}}
	edmx := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/$metadata" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `<?xml version="1.0"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"></edmx:Edmx>`)
	}
	wantEDMX := func(status int, _ http.Header, body []byte) *Result {
		if status != 200 {
			r := Failf(ReasonHTTPStatus, PhaseHTTP, "status "+strconv.Itoa(status))
			return &r
		}
		if !strings.Contains(string(body), "edmx:Edmx") {
			r := Failf(ReasonHTTPBody, PhaseHTTP, "not edmx")
			return &r
		}
		return nil
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  Status
		reason  Reason
		phase   Phase
	}{
		{"edmx", edmx, Pass, ReasonOK, PhaseNone},
		{"403 from a proxy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "blocked by policy", http.StatusForbidden) }, Fail, ReasonHTTPStatus, PhaseHTTP},
		{"200 with a block page", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>Access denied</html>") }, Fail, ReasonHTTPBody, PhaseHTTP},
		{"trickled body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			for i := 0; i < 100; i++ {
				if _, err := w.Write([]byte("<")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond)
			}
		}, Fail, ReasonTimeout, PhaseHTTP},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/v1.0/$metadata?again", http.StatusFound)
		}, Fail, ReasonHTTPStatus, PhaseHTTP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := httpsServer(t, ca, host, tc.handler)
			p := HTTP{URL: fmt.Sprintf("https://%s:%d/v1.0/$metadata", host, port), Resolver: res, RootCAs: ca.pool, AzureRoots: ca.pool, Expect: wantEDMX}
			r := p.Run(ctxTimeout(t, 700*time.Millisecond))
			if r.Status != tc.status || r.Reason != tc.reason || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q (%s), want %s/%s/%q", r.Status, r.Reason, r.FailedPhase, r.Message, tc.status, tc.reason, tc.phase)
			}
			if tc.status == Pass {
				for _, k := range []string{"resolve_ms", "connect_ms", "tls_ms", "ttfb_ms"} {
					if _, ok := r.Phases[k]; !ok {
						t.Fatalf("phase %s missing: %v", k, r.Phases)
					}
				}
				if r.Evidence["http_status"] != 200 {
					t.Fatalf("evidence %v", r.Evidence)
				}
			}
		})
	}
}

func TestHTTPConnectAndTLSPhases(t *testing.T) {
	ca, other := newCA(t, "Azure"), newCA(t, "Other")
	const host = "kv.test"
	res := mapResolver{host: {"127.0.0.1"}}
	cases := []struct {
		name   string
		port   func(t testing.TB) int
		reason Reason
		phase  Phase
	}{
		{"silent drop", silentPort, ReasonTimeout, PhaseConnect},
		{"refused", refusedPort, ReasonRefused, PhaseConnect},
		{"reset after ClientHello", func(t testing.TB) int { return acceptingListener(t, resetAfterClientHello) }, ReasonReset, PhaseTLS},
		{"stalled handshake", func(t testing.TB) int { return acceptingListener(t, nil) }, ReasonTimeout, PhaseTLS},
		{"untrusted", func(t testing.TB) int {
			return httpsServer(t, other, host, func(http.ResponseWriter, *http.Request) {})
		}, ReasonTLSUntrusted, PhaseTLS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := HTTP{URL: fmt.Sprintf("https://%s:%d/", host, tc.port(t)), Resolver: res, RootCAs: ca.pool}
			r := p.Run(ctxTimeout(t, 500*time.Millisecond))
			if r.Status != Fail || r.Reason != tc.reason || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q (%s), want fail/%s/%q", r.Status, r.Reason, r.FailedPhase, r.Message, tc.reason, tc.phase)
			}
		})
	}
}

func TestHTTPPlainAndNXDomain(t *testing.T) {
	port := acceptingListener(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		c.Read(buf)
		c.Write([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		c.Close()
	})
	r := HTTP{URL: fmt.Sprintf("http://crl.test:%d/", port), Resolver: mapResolver{"crl.test": {"127.0.0.1"}}, Expect: ExpectStatus(200)}.Run(ctxTimeout(t, time.Second))
	if r.Reason != ReasonHTTPStatus || r.Evidence["http_status"] != 407 || !strings.Contains(r.Message, "407") {
		t.Fatalf("got %s (%s) %v", r.Reason, r.Message, r.Evidence)
	}
	r = HTTP{URL: "https://missing.test/", Resolver: mapResolver{}}.Run(ctxTimeout(t, time.Second))
	if r.Reason != ReasonNXDomain || r.FailedPhase != PhaseResolve {
		t.Fatalf("got %s/%s", r.Reason, r.FailedPhase)
	}
}

// A judge whose verdict lies in the body gives its own pass, warn or skip;
// the probe's phases, addresses and evidence come with it, and the judge's
// evidence keys are kept (winning where both set one).
func TestHTTPJudgeOwnsTheVerdict(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "echo.test"
	port := httpsServer(t, ca, host, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "203.0.113.9") })
	cases := []struct {
		name  string
		judge Result
		phase Phase
	}{
		{"pass", Passf("leaves from 203.0.113.9"), PhaseNone},
		{"warn", Warnf(ReasonForcedTunnel, PhaseAnalysis, "leaves from 203.0.113.9, not Azure"), PhaseAnalysis},
		{"warn without a phase", Warnf(ReasonForcedTunnel, PhaseNone, "odd"), PhaseHTTP},
		{"skip", Skipf(ReasonNoData, "nothing to compare with", "pass --expect-egress"), PhaseNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var saw string
			p := HTTP{URL: fmt.Sprintf("https://%s:%d/", host, port), Resolver: mapResolver{host: {"127.0.0.1", "127.0.0.2"}}, RootCAs: ca.pool,
				Expect: func(status int, _ http.Header, body []byte) *Result {
					saw = string(body)
					r := tc.judge
					r.Evidence = map[string]any{"egress_ip": string(body), "http_status": "judge's own"}
					return &r
				}}
			r := p.Run(ctxTimeout(t, 2*time.Second))
			if saw != "203.0.113.9" {
				t.Fatalf("judge saw body %q", saw)
			}
			if r.Status != tc.judge.Status || r.Reason != tc.judge.Reason || r.Message != tc.judge.Message || r.Hint != tc.judge.Hint || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q %q %q, want the judge's %+v with phase %q", r.Status, r.Reason, r.FailedPhase, r.Message, r.Hint, tc.judge, tc.phase)
			}
			if r.Evidence["egress_ip"] != "203.0.113.9" || r.Evidence["http_status"] != "judge's own" {
				t.Errorf("judge's evidence lost: %v", r.Evidence)
			}
			if r.Dialled != fmt.Sprintf("127.0.0.1:%d", port) || r.Cert == nil || r.Cert.Issuer == "" {
				t.Errorf("probe's evidence not merged: %v", r.Evidence)
			}
			for _, k := range []string{"resolve_ms", "connect_ms", "tls_ms", "ttfb_ms"} {
				if _, ok := r.Phases[k]; !ok {
					t.Errorf("phase %s missing: %v", k, r.Phases)
				}
			}
			if len(r.Addresses) != 2 || r.Addresses[0] != "127.0.0.1" {
				t.Errorf("addresses = %v", r.Addresses)
			}
		})
	}
}

func TestHTTPNoRedirects(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "echo.test"
	port := httpsServer(t, ca, host, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.test/", http.StatusFound)
	})
	var got int
	r := HTTP{URL: fmt.Sprintf("https://%s:%d/", host, port), Resolver: mapResolver{host: {"127.0.0.1"}}, RootCAs: ca.pool, MaxRedirects: -1,
		Expect: func(status int, _ http.Header, _ []byte) *Result { got = status; return nil }}.Run(ctxTimeout(t, 2*time.Second))
	if got != http.StatusFound || r.Status != Pass || r.Evidence["final_url"] != nil {
		t.Fatalf("judge saw %d; got %s/%s %s %v", got, r.Status, r.Reason, r.Message, r.Evidence)
	}
}

// slowLookup answers some names from a table and never answers the others
// (a resolver that times out), so a redirect can lead to a silent lookup.
type slowLookup map[string][]string

// AnswersLoopback: the test's servers live on 127.0.0.1 (probes.LoopbackAnswers).
func (slowLookup) AnswersLoopback() bool { return true }

func (m slowLookup) LookupHost(ctx context.Context, host string) ([]string, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	<-ctx.Done()
	return nil, &net.DNSError{Err: "no answer", Name: host, IsTimeout: true}
}

// A redirect to a host whose lookup times out is that lookup's failure —
// dns-timeout in phase resolve — not an HTTP or SERVFAIL error, and the
// redirect's query string (a signature) shows nowhere.
func TestHTTPRedirectToSilentName(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "echo.test"
	port := httpsServer(t, ca, host, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://silent.test/next?sig=SECRET", http.StatusFound)
	})
	r := HTTP{URL: fmt.Sprintf("https://%s:%d/", host, port), Resolver: slowLookup{host: {"127.0.0.1"}}, RootCAs: ca.pool}.Run(ctxTimeout(t, 300*time.Millisecond))
	if r.Status != Fail || r.Reason != ReasonDNSTimeout || r.FailedPhase != PhaseResolve {
		t.Fatalf("got %s/%s in %q: %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
	if !strings.Contains(r.Message, "silent.test") || strings.Contains(r.Message, "SECRET") {
		t.Fatalf("message %q should name the redirect's host and no query", r.Message)
	}
}

// A check whose limit has run out before it dials says so, instead of
// naming a silent drop to no address.
func TestHTTPOutOfTimeBeforeDialling(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	r := HTTP{URL: "https://127.0.0.1:9/"}.Run(ctx)
	if r.Status != Fail || r.Reason != ReasonTimeout || !strings.Contains(r.Message, "before a TCP connection was tried") {
		t.Errorf("%s/%s: %s", r.Status, r.Reason, r.Message)
	}
}
