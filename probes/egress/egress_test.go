package egress

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

func TestParseAnswer(t *testing.T) {
	good := map[string]string{
		"203.0.113.9\n":                        "203.0.113.9",
		"  203.0.113.9\r\n":                    "203.0.113.9",
		`{"ip":"203.0.113.9"}`:                 "203.0.113.9",
		`{"ip": "2001:db8::1", "country":"X"}`: "2001:db8::1",
		`{"origin":"198.51.100.7"}`:            "198.51.100.7",
		"::ffff:203.0.113.9":                   "203.0.113.9",
	}
	for in, want := range good {
		got, err := ParseAnswer([]byte(in))
		if err != nil || got.String() != want {
			t.Errorf("ParseAnswer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	bad := []string{"", "\n", "<html>blocked</html>", "203.0.113.999", `{"ip":42}`, `{"country":"X"}`,
		`{"ip":`, "fe80::1%eth0", "203.0.113.9 198.51.100.1", strings.Repeat("x", 5000)}
	for _, in := range bad {
		if a, err := ParseAnswer([]byte(in)); err == nil {
			t.Errorf("ParseAnswer(%q) = %v, want an error", in, a)
		} else if strings.Contains(err.Error(), "\n") || len(err.Error()) > 200 {
			t.Errorf("ParseAnswer(%q) error is not one short line: %q", in, err)
		}
	}
}

func TestParseExpect(t *testing.T) {
	got, err := ParseExpect([]string{"203.0.113.0/28", "198.51.100.7", "2001:db8::/48", "192.0.2.77/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"203.0.113.0/28", "198.51.100.7/32", "2001:db8::/48", "192.0.2.0/24"}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"nat-gateway", "203.0.113.0/33", "", "10.0.0.0/8/8"} {
		_, err := ParseExpect([]string{bad})
		if err == nil || !strings.Contains(err.Error(), "--expect-egress") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseExpect(%q) error = %v, want a one-line --expect-egress error", bad, err)
		}
	}
}

func TestValidateEchoURL(t *testing.T) {
	if err := ValidateEchoURL("https://api.ipify.org"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://api.ipify.org", "api.ipify.org", "https://", "https://h:99999/", "https://u:p@h/", "::"} {
		if err := ValidateEchoURL(bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateEchoURL(%q) = %v, want a one-line error", bad, err)
		}
	}
}

func TestJudge(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.9")
	vm := Config{VMPublicIP: netip.MustParseAddr("203.0.113.9")}
	if r := vm.Judge(ip); r.Status != probes.Pass || r.Evidence["matched"] != "vm-public-ip" {
		t.Errorf("VM public IP match: %+v", r)
	}
	nat := Config{VMPublicIP: netip.MustParseAddr("20.1.1.1"), Expected: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/28")}}
	if r := nat.Judge(ip); r.Status != probes.Pass || r.Evidence["matched"] != "expect-egress 203.0.113.0/28" {
		t.Errorf("--expect-egress match: %+v", r)
	}
	tags := Config{TagPrefixes: []netip.Prefix{netip.MustParsePrefix("20.0.0.0/11"), netip.MustParsePrefix("203.0.112.0/23")}}
	if r := tags.Judge(ip); r.Status != probes.Pass || !strings.Contains(r.Evidence["matched"].(string), "203.0.112.0/23") {
		t.Errorf("service tag match: %+v", r)
	}
	// A mapped address from a v6 socket still compares as v4.
	if r := tags.Judge(netip.MustParseAddr("::ffff:203.0.113.9")); r.Status != probes.Pass {
		t.Errorf("mapped address: %+v", r)
	}

	for _, mode := range []probes.Mode{probes.ModeInternal, probes.ModeExternal, probes.ModeV2Integrated} {
		miss := Config{
			Mode:        mode,
			VMPublicIP:  netip.MustParseAddr("20.1.1.1"),
			Expected:    []netip.Prefix{netip.MustParsePrefix("198.51.100.0/28")},
			TagPrefixes: []netip.Prefix{netip.MustParsePrefix("20.0.0.0/11")},
		}
		r := miss.Judge(ip)
		if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || r.FailedPhase != probes.PhaseAnalysis {
			t.Fatalf("%s mismatch: %+v", mode, r)
		}
		if r.Hint == "" || r.EgressIP != "203.0.113.9" || !strings.Contains(r.Message, "203.0.113.9") {
			t.Errorf("%s mismatch lacks hint or evidence: %+v", mode, r)
		}
		if len(r.Evidence["compared_with"].([]string)) != 3 {
			t.Errorf("%s: compared_with = %v", mode, r.Evidence["compared_with"])
		}
	}
	ext := Config{Mode: "external", VMPublicIP: netip.MustParseAddr("20.1.1.1")}.Judge(ip)
	if !strings.Contains(ext.Message, "client traffic breaks") {
		t.Errorf("external mode meaning missing: %s", ext.Message)
	}
	in := Config{Mode: "internal", VMPublicIP: netip.MustParseAddr("20.1.1.1")}.Judge(ip)
	if !strings.Contains(in.Message, "management") || !strings.Contains(in.Message, "dependencies") {
		t.Errorf("internal mode meaning missing: %s", in.Message)
	}

	// Nothing to compare with: never a pass, never "Azure edge".
	r := Config{}.Judge(ip)
	if r.Status != probes.Skip || r.Reason != probes.ReasonNoData || r.EgressIP != "203.0.113.9" ||
		strings.Contains(r.Message, "Azure's edge") && !strings.Contains(r.Message, "unknown") {
		t.Errorf("no reference: %+v", r)
	}
}

// echoServer is a TLS echo stand-in on loopback; handler decides the answer.
func echoServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func runCheck(t *testing.T, cfg Config, limit time.Duration) probes.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return NewCheck(cfg).Probe.Run(ctx)
}

type mapResolver map[string][]string

// AnswersLoopback: the test's servers live on 127.0.0.1 (probes.LoopbackAnswers).
func (mapResolver) AnswersLoopback() bool { return true }

func (m mapResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestEchoOverTheWire(t *testing.T) {
	vm := netip.MustParseAddr("203.0.113.9")
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  probes.Status
		reason  probes.Reason
	}{
		{"plain", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "203.0.113.9\n") }, probes.Pass, probes.ReasonOK},
		{"json", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"ip":"203.0.113.9"}`) }, probes.Pass, probes.ReasonOK},
		{"other address", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "192.0.2.50") }, probes.Warn, probes.ReasonForcedTunnel},
		{"garbage", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>Access denied by policy</html>") }, probes.Skip, probes.ReasonHTTPBody},
		{"huge", func(w http.ResponseWriter, _ *http.Request) {
			chunk := []byte(strings.Repeat("9", 64<<10))
			for i := 0; i < 256; i++ { // 16 MiB unless the client stops reading
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, probes.Skip, probes.ReasonHTTPBody},
		{"http 503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, probes.Skip, probes.ReasonHTTPStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, pool := echoServer(t, tc.handler)
			r := runCheck(t, Config{EchoURL: srv.URL, RootCAs: pool, VMPublicIP: vm, Mode: "internal"}, 5*time.Second)
			if r.Status != tc.status || reasonOrCause(r) != tc.reason || (r.Status == probes.Skip && r.Reason != probes.ReasonNoData) {
				t.Fatalf("got %s/%s (%s), want %s/%s", r.Status, r.Reason, r.Message, tc.status, tc.reason)
			}
			if (r.Status == probes.Warn || r.Status == probes.Fail) && r.Hint == "" {
				t.Errorf("no hint on %s", r.Status)
			}
			if len(r.Addresses) == 0 || r.Addresses[0] != "127.0.0.1" {
				t.Errorf("addresses = %v, want the dialled 127.0.0.1 first", r.Addresses)
			}
			if r.Evidence["echo_url"] != srv.URL {
				t.Errorf("evidence lacks echo_url: %v", r.Evidence)
			}
		})
	}
}

func TestEchoSlowHonoursContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	trickle := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "12")
		fmt.Fprint(w, "203.")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	silent := func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	for name, h := range map[string]http.HandlerFunc{"trickle": trickle, "no answer": silent} {
		t.Run(name, func(t *testing.T) {
			srv, pool := echoServer(t, h)
			// Its reason (timeout, phase http) says the check's limit ended
			// it; no clock is read.
			r := runCheck(t, Config{EchoURL: srv.URL, RootCAs: pool, VMPublicIP: netip.MustParseAddr("203.0.113.9")}, 300*time.Millisecond)
			if !skippedFor(r, probes.ReasonTimeout, probes.PhaseHTTP) {
				t.Fatalf("got %s/%s/%s: %s", r.Status, r.Reason, r.FailedPhase, r.Message)
			}
		})
	}
}

func TestEchoResolvesAndVerifiesName(t *testing.T) {
	srv, pool := echoServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "203.0.113.9") })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// httptest's certificate is valid for example.com: the name is sent as
	// SNI and verified while the resolved loopback address is dialled.
	res := mapResolver{"example.com": {"127.0.0.1"}, "wrong.example": {"127.0.0.1"}}
	r := runCheck(t, Config{EchoURL: "https://example.com:" + port + "/", RootCAs: pool, Resolver: res,
		VMPublicIP: netip.MustParseAddr("203.0.113.9")}, 5*time.Second)
	if r.Status != probes.Pass || r.Addresses[0] != "127.0.0.1" || r.Phases["resolve_ms"] < 0 {
		t.Fatalf("resolved echo: %+v", r)
	}
	for _, k := range []string{"connect_ms", "tls_ms", "ttfb_ms"} {
		if _, ok := r.Phases[k]; !ok {
			t.Errorf("phase %s missing: %v", k, r.Phases)
		}
	}
	r = runCheck(t, Config{EchoURL: "https://wrong.example:" + port + "/", RootCAs: pool, Resolver: res}, 5*time.Second)
	if !skippedFor(r, probes.ReasonTLSNameMismatch, probes.PhaseTLS) {
		t.Errorf("name mismatch: %s/%s/%s %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
	r = runCheck(t, Config{EchoURL: "https://nxdomain.example/", Resolver: res}, 5*time.Second)
	if !skippedFor(r, probes.ReasonNXDomain, probes.PhaseResolve) {
		t.Errorf("nxdomain: %s/%s/%s %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
}

func TestEchoUntrustedAndRefused(t *testing.T) {
	srv, _ := echoServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "203.0.113.9") })
	// A private pool without the test CA stands for a machine that does
	// not trust the server.
	r := runCheck(t, Config{EchoURL: srv.URL, RootCAs: x509.NewCertPool()}, 5*time.Second)
	if !skippedFor(r, probes.ReasonTLSUntrusted, probes.PhaseTLS) || !strings.Contains(r.Message, "inspecting") {
		t.Errorf("untrusted: %s/%s/%s %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r = runCheck(t, Config{EchoURL: "https://" + addr + "/"}, 5*time.Second)
	if !skippedFor(r, probes.ReasonRefused, probes.PhaseConnect) {
		t.Errorf("refused: %s/%s/%s %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
}

func TestEchoRunDeadlineIsFail(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, pool := echoServer(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	run, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(probes.ErrRunDeadline) })
	r := NewCheck(Config{EchoURL: srv.URL, RootCAs: pool}).Probe.Run(run)
	if r.Status != probes.Fail || r.Reason != probes.ReasonDeadline || r.Hint == "" {
		t.Errorf("run deadline: %+v", r)
	}
}

func TestOff(t *testing.T) {
	c := NewCheck(Config{EchoURL: DefaultEchoURL, Off: true})
	if c.Probe != nil || c.Preset == nil || c.Preset.Status != probes.Skip || c.ID != CheckID {
		t.Errorf("--no-egress check: %+v", c)
	}
}

// The system roots come from SSL_CERT_FILE when it is set; Go reads them
// once per process, so a child process proves it.
func TestSSLCertFileHonoured(t *testing.T) {
	if url := os.Getenv("EGRESS_TEST_CHILD_URL"); url != "" {
		r := runCheck(t, Config{EchoURL: url, VMPublicIP: netip.MustParseAddr("203.0.113.9")}, 5*time.Second)
		if r.Status != probes.Pass {
			t.Fatalf("with SSL_CERT_FILE: %s/%s %s", r.Status, r.Reason, r.Message)
		}
		return
	}
	srv, _ := echoServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "203.0.113.9") })
	f := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSSLCertFileHonoured$")
	cmd.Env = append(os.Environ(), "EGRESS_TEST_CHILD_URL="+srv.URL, "SSL_CERT_FILE="+f, "SSL_CERT_DIR=/nonexistent")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// reasonOrCause is a result's reason, or for a skip the wire's reason kept
// as its cause (SPEC: a skip itself is only no-data).
func reasonOrCause(r probes.Result) probes.Reason {
	if c, ok := r.Evidence["cause"].(string); ok && r.Status == probes.Skip {
		return probes.Reason(c)
	}
	return r.Reason
}

// skippedFor: skipped as no-data because the echo could not be asked, with
// the wire's reason and phase as the cause.
func skippedFor(r probes.Result, cause probes.Reason, phase probes.Phase) bool {
	return r.Status == probes.Skip && r.Reason == probes.ReasonNoData && r.FailedPhase == probes.PhaseNone &&
		r.Evidence["cause"] == string(cause) && r.Evidence["cause_phase"] == string(phase)
}

// filterResolver is a DNS filter answering its sinkhole for every name.
type filterResolver []string

func (f filterResolver) LookupHost(context.Context, string) ([]string, error) { return f, nil }

// An echo service whose name a DNS filter sinkholes is wrong-answer in phase
// resolve, never dialled: the echo server on this machine would otherwise
// answer and the egress address be "learnt" from loopback.
func TestEchoSinkholeIsNotDialled(t *testing.T) {
	var hits atomic.Int32
	srv, pool := echoServer(t, func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); fmt.Fprint(w, "203.0.113.9") })
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, answer := range []string{"0.0.0.0", "127.0.0.1"} {
		cfg := Config{EchoURL: "https://echo.test" + port + "/?sig=SECRET", RootCAs: pool, Mode: "internal", Resolver: filterResolver{answer}}
		r := runCheck(t, cfg, 2*time.Second)
		if r.Status != probes.Warn || r.Reason != probes.ReasonWrongAnswer || r.FailedPhase != probes.PhaseResolve || r.Hint == "" {
			t.Errorf("answer %s: %s/%s/%s %s", answer, r.Status, r.Reason, r.FailedPhase, r.Message)
		}
		if strings.Contains(fmt.Sprint(r.Message, r.Evidence), "SECRET") {
			t.Errorf("the echo URL's signature is in the result: %s %v", r.Message, r.Evidence)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the echo server was asked %d times", hits.Load())
	}
}
