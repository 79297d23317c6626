package probes

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTLSOutcomes(t *testing.T) {
	azure := newCA(t, "Genuine Azure Root")
	inspector := newCA(t, "Corp Inspection CA")
	stranger := newCA(t, "Unknown CA")
	trusted := azure.pool.Clone()
	trusted.AddCert(inspector.cert) // the machine trusts the inspecting CA

	const host = "acct.blob.core.windows.test"
	res := mapResolver{host: {"127.0.0.1"}}
	cases := []struct {
		name   string
		port   func(t testing.TB) int
		status Status
		reason Reason
		phase  Phase
		msg    string
	}{
		{"genuine chain", func(t testing.TB) int { return tlsListener(t, azure.leaf(t, host), nil) }, Pass, ReasonOK, PhaseNone, "TLS"},
		{"inspected by a trusted CA", func(t testing.TB) int { return tlsListener(t, inspector.leaf(t, host), nil) }, Fail, ReasonTLSIntercepted, PhaseTLS, "Corp Inspection CA"},
		{"untrusted CA", func(t testing.TB) int { return tlsListener(t, stranger.leaf(t, host), nil) }, Fail, ReasonTLSUntrusted, PhaseTLS, "Unknown CA"},
		{"name mismatch", func(t testing.TB) int { return tlsListener(t, azure.leaf(t, "other.test"), nil) }, Fail, ReasonTLSNameMismatch, PhaseTLS, host},
		{"reset after ClientHello", func(t testing.TB) int { return acceptingListener(t, resetAfterClientHello) }, Fail, ReasonReset, PhaseTLS, "right after the ClientHello"},
		{"stalled handshake", func(t testing.TB) int { return acceptingListener(t, nil) }, Fail, ReasonTimeout, PhaseTLS, "no answer to the ClientHello"},
		{"not TLS", func(t testing.TB) int {
			return acceptingListener(t, func(c net.Conn) {
				c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
				io.Copy(io.Discard, c) // until the probe hangs up
				c.Close()
			})
		}, Fail, ReasonTLSHandshake, PhaseTLS, "not TLS"},
		{"refused", refusedPort, Fail, ReasonRefused, PhaseConnect, "refused"},
		{"silent drop", silentPort, Fail, ReasonTimeout, PhaseConnect, "no answer to TCP SYN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := TLS{Host: host, Port: tc.port(t), Resolver: res, RootCAs: trusted, AzureRoots: azure.pool}
			r := p.Run(ctxTimeout(t, 500*time.Millisecond))
			if r.Status != tc.status || r.Reason != tc.reason || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q (%s), want %s/%s/%q", r.Status, r.Reason, r.FailedPhase, r.Message, tc.status, tc.reason, tc.phase)
			}
			if !strings.Contains(r.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", r.Message, tc.msg)
			}
		})
	}
}

// A passing check's evidence lists 8 of the certificate's names and
// counts the rest; a failing or warning check's lists up to 64 (a real
// handshake with a certificate of 100 names).
func TestTLSEvidenceSANsBounded(t *testing.T) {
	ca := newCA(t, "Genuine Azure Root")
	const host = "front.test"
	names := []string{host}
	for i := range 99 {
		names = append(names, fmt.Sprintf("n%02d.front.test", i))
	}
	port := tlsListener(t, ca.leaf(t, names...), nil)
	r := TLS{Host: host, Port: port, Resolver: mapResolver{host: {"127.0.0.1"}}, RootCAs: ca.pool, AzureRoots: ca.pool}.Run(ctxTimeout(t, time.Second))
	if r.Status != Pass {
		t.Fatalf("%s: %s", r.Status, r.Message)
	}
	want := append(slices.Clone(names[:8]), "… 92 more")
	if sans := r.EvidenceMap()["tls_sans"].([]string); !slices.Equal(sans, want) {
		t.Errorf("passing: %q, want %q", sans, want)
	}
	for _, st := range []Status{Fail, Warn} {
		r.Status = st
		want := append(slices.Clone(names[:64]), "… 36 more")
		if sans := r.EvidenceMap()["tls_sans"].([]string); !slices.Equal(sans, want) {
			t.Errorf("%s: %q, want %q", st, sans, want)
		}
	}
	if len(r.Cert.SANs) != 65 {
		t.Errorf("the result's own names cut: %d", len(r.Cert.SANs))
	}
	// Eight names or nine, passing.
	for n, want := range map[int][]string{8: names[:8], 9: append(slices.Clone(names[:8]), "… 1 more")} {
		c := &CertSeen{SANs: names[:n], sanTotal: n}
		if got := (Result{Status: Pass, Cert: c}).EvidenceMap()["tls_sans"].([]string); !slices.Equal(got, want) {
			t.Errorf("%d names: %q, want %q", n, got, want)
		}
	}
}

func TestTLSEvidence(t *testing.T) {
	ca := newCA(t, "Genuine Azure Root")
	const host = "vault.test"
	port := tlsListener(t, ca.leaf(t, host, "alt.vault.test"), nil)
	r := TLS{Host: host, Port: port, Resolver: mapResolver{host: {"127.0.0.1"}}, RootCAs: ca.pool, AzureRoots: ca.pool}.Run(ctxTimeout(t, time.Second))
	if r.Status != Pass {
		t.Fatalf("%s: %s", r.Status, r.Message)
	}
	ev := r.EvidenceMap()
	if !strings.Contains(ev["tls_root"].(string), "Genuine Azure Root") || !strings.Contains(ev["tls_issuer"].(string), "Genuine Azure Root") {
		t.Fatalf("root/issuer evidence wrong: %v", ev)
	}
	if sans := ev["tls_sans"].([]string); len(sans) != 2 || sans[1] != "alt.vault.test" {
		t.Fatalf("sans %v", sans)
	}
	if ev["tls_version"] != "TLS1.3" || ev["tls_intercepted"] != false || ev["tls_not_after"] == "" {
		t.Fatalf("evidence %v", ev)
	}
	if ev["dialled"] != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
		t.Fatalf("dialled %v", ev["dialled"])
	}
	for _, k := range []string{"resolve_ms", "connect_ms", "tls_ms"} {
		if _, ok := r.Phases[k]; !ok {
			t.Fatalf("phase %s missing: %v", k, r.Phases)
		}
	}
}

func TestTLSInterceptionOnOptionalIsWarn(t *testing.T) {
	azure, inspector := newCA(t, "Azure"), newCA(t, "Inspector")
	const host = "metrics.test"
	port := tlsListener(t, inspector.leaf(t, host), nil)
	r := TLS{Host: host, Port: port, Resolver: mapResolver{host: {"127.0.0.1"}}, RootCAs: inspector.pool,
		AzureRoots: azure.pool, InterceptIsWarn: true}.Run(ctxTimeout(t, time.Second))
	if r.Status != Warn || r.Reason != ReasonTLSIntercepted {
		t.Fatalf("got %s/%s", r.Status, r.Reason)
	}
}

// The TLS and HTTPS probes offer the classic key exchanges only, as API
// Management's own clients do: no post-quantum key share, whose 1,200-byte
// ClientHello some middleboxes mishandle.
func TestClientHelloOffersClassicKeyExchanges(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "kv.test"
	seen := make(chan []tls.CurveID, 2)
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, host)},
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			seen <- hi.SupportedCurves
			return nil, nil
		}}
	port := acceptingListener(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc)
		}
	})
	res := mapResolver{host: {"127.0.0.1"}}
	if r := (TLS{Host: host, Port: port, Resolver: res, RootCAs: ca.pool}).Run(ctxTimeout(t, time.Second)); r.Status != Pass {
		t.Fatalf("tls: %s %s", r.Status, r.Message)
	}
	HTTP{URL: fmt.Sprintf("https://%s:%d/", host, port), Resolver: res, RootCAs: ca.pool}.Run(ctxTimeout(t, 300*time.Millisecond))
	for _, probe := range []string{"tls", "http"} {
		curves := <-seen
		if !slices.Equal(curves, []tls.CurveID{tls.X25519, tls.CurveP256}) {
			t.Errorf("%s probe offered %v, want X25519 and P-256 only", probe, curves)
		}
	}
}

// A chain's judgement is remembered per run, but the host name is checked
// for every host that presents it, and another set of Azure roots is judged
// afresh.
func TestRememberedChainsStillCheckEachHostAndRootSet(t *testing.T) {
	genuine := newCA(t, "Genuine Azure Root")
	other := newCA(t, "Some Other Root")
	port := tlsListener(t, genuine.leaf(t, "a.test"), nil)
	res := mapResolver{"a.test": {"127.0.0.1"}, "b.test": {"127.0.0.1"}}
	run := func(host string, azure *x509.CertPool) Result {
		return TLS{Host: host, Port: port, Resolver: res, RootCAs: genuine.pool, AzureRoots: azure}.Run(ctxTimeout(t, time.Second))
	}
	if r := run("a.test", genuine.pool); r.Status != Pass {
		t.Fatalf("a.test: %s %s", r.Status, r.Message)
	}
	if r := run("b.test", genuine.pool); r.Reason != ReasonTLSNameMismatch {
		t.Fatalf("b.test with a.test's chain: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	if r := run("a.test", other.pool); r.Reason != ReasonTLSIntercepted {
		t.Fatalf("a.test judged against other Azure roots: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	if r := run("a.test", genuine.pool); r.Status != Pass {
		t.Fatalf("a.test again: %s %s", r.Status, r.Message)
	}
}

// A reach-only TLS check passes on a completed handshake whatever the
// chain, says so, and still fails on what the network does.
func TestTLSReachOnly(t *testing.T) {
	ca := newCA(t, "Microsoft Root Certificate Authority 2011")
	other := newCA(t, "Some Root")
	const host = "sls.update.test"
	res := mapResolver{host: {"127.0.0.1"}}
	port := tlsListener(t, ca.leaf(t, host), nil)
	r := TLS{Host: host, Port: port, Resolver: res, RootCAs: other.pool, ReachOnly: true}.Run(ctxTimeout(t, time.Second))
	if r.Status != Pass || !strings.Contains(r.Message, "not judged") || r.Cert == nil {
		t.Fatalf("untrusted chain, reach only: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	if r := (TLS{Host: host, Port: port, Resolver: res, RootCAs: other.pool}).Run(ctxTimeout(t, time.Second)); r.Reason != ReasonTLSUntrusted {
		t.Fatalf("the same chain judged: %s/%s", r.Status, r.Reason)
	}
	reset := acceptingListener(t, resetAfterClientHello)
	if r := (TLS{Host: host, Port: reset, Resolver: res, ReachOnly: true}).Run(ctxTimeout(t, time.Second)); r.Status != Fail || r.Reason != ReasonReset {
		t.Fatalf("reset after the ClientHello, reach only: %s/%s", r.Status, r.Reason)
	}
}
