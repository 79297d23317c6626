package catalog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// loopback resolves every name to 127.0.0.1: the catalogue's real host
// names, answered by a server on this machine.
type loopback struct{}

// AnswersLoopback: the test's servers live on 127.0.0.1 (probes.LoopbackAnswers).
func (loopback) AnswersLoopback() bool { return true }

func (loopback) LookupHost(context.Context, string) ([]string, error) {
	return []string{"127.0.0.1"}, nil
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert, key}
}

func (ca testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// serveTLS answers TLS on a loopback port with a certificate for every host
// signed by ca (a TLS-inspecting proxy re-signs whatever is asked for).
func serveTLS(t *testing.T, ca testCA, hosts ...string) int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	testtool.Serve(t, l, func(c net.Conn) {
		defer c.Close()
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Read(make([]byte, 1))
	})
	return l.Addr().(*net.TCPAddr).Port
}

// TestWarningsGetTheCatalogueHint: a warn carries a hint just as a fail
// does. An inspecting proxy in front of an optional dependency is a warning
// (tls-intercepted, InterceptIsWarn from the catalogue); in front of a
// required one a failure. Both go through the real runner with the real
// catalogue's checks and probes (only the port is moved to the loopback
// server), and both must come out with the catalogue's hint.
func TestWarningsGetTheCatalogueHint(t *testing.T) {
	inspector, azure := newCA(t, "Contoso Inspection CA"), newCA(t, "Genuine Azure Root")
	checks, err := Plan(Options{Cloud: "public", Mode: "internal", Phase: "post",
		Inputs:   Inputs{Service: "contoso", Region: "westeurope"},
		Resolver: loopback{}, RootCAs: inspector.pool(), AzureRoots: azure.pool()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]probes.Status{"outbound.monitor.metrics": probes.Warn, "outbound.monitor.warmpath": probes.Fail}
	var picked []probes.Check
	var hosts []string
	for _, c := range checks {
		if _, ok := want[c.ID]; !ok {
			continue
		}
		p, ok := c.Probe.(probes.TLS)
		if !ok || c.Hint == nil {
			t.Fatalf("%s: probe %T, hint set %v: want a TLS probe with the catalogue's hint", c.ID, c.Probe, c.Hint != nil)
		}
		hosts = append(hosts, p.Host)
		picked = append(picked, c)
	}
	if len(picked) != len(want) {
		t.Fatalf("picked %d checks, want %d", len(picked), len(want))
	}
	port := serveTLS(t, inspector, hosts...)
	for i := range picked {
		p := picked[i].Probe.(probes.TLS)
		p.Port = port
		picked[i].Probe = p
	}
	outs := probes.Run(context.Background(), picked, probes.RunOptions{Timeout: 3 * time.Second, Deadline: 5 * time.Second, Concurrency: 2})
	for _, o := range outs {
		r := o.Result
		host := o.Check.Probe.(probes.TLS).Host
		if r.Status != want[o.Check.ID] || r.Reason != probes.ReasonTLSIntercepted {
			t.Errorf("%s (required %v): %s/%s (%s), want %s/tls-intercepted", o.Check.ID, o.Check.Required, r.Status, r.Reason, r.Message, want[o.Check.ID])
			continue
		}
		wantHint := "Exempt " + host + " from TLS inspection on the firewall or proxy: API Management does not trust the inspecting CA."
		if r.Hint != wantHint {
			t.Errorf("%s %s: hint %q, want the catalogue's %q", o.Check.ID, r.Status, r.Hint, wantHint)
		}
	}
}

// Every reason a TLS, TCP or HTTP probe can warn or fail with gets a
// non-empty hint from the catalogue, whatever the status.
func TestHintForWarnAndFailAlike(t *testing.T) {
	e := Endpoint{ID: "outbound.monitor.metrics", Host: "global.prod.microsoftmetrics.com", Port: 443, ServiceTag: "AzureMonitor"}
	h := hint(e, "westeurope")
	for _, reason := range []probes.Reason{probes.ReasonTimeout, probes.ReasonRefused, probes.ReasonUnreachable, probes.ReasonReset,
		probes.ReasonTLSUntrusted, probes.ReasonTLSNameMismatch, probes.ReasonTLSIntercepted, probes.ReasonTLSHandshake,
		probes.ReasonNXDomain, probes.ReasonServFail, probes.ReasonDNSTimeout, probes.ReasonNoAnswer, probes.ReasonHTTPStatus, probes.ReasonHTTPBody} {
		warn := h(probes.Result{Status: probes.Warn, Reason: reason, FailedPhase: probes.PhaseTLS})
		fail := h(probes.Result{Status: probes.Fail, Reason: reason, FailedPhase: probes.PhaseTLS})
		if warn == "" || warn != fail || !strings.Contains(warn, "microsoftmetrics.com") && !strings.Contains(warn, "the address") {
			t.Errorf("%s: warn hint %q, fail hint %q", reason, warn, fail)
		}
	}
}
