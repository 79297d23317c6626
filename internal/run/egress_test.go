package run

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// The AzureCloud prefixes are waited for beside the echo, and only when its
// answer needs them: a service tag read that never ends (Resource Manager
// dropped) must not keep the echo from being asked.
func TestEgressAsksWithoutWaitingForTags(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("203.0.113.9")) }))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	never := func(ctx context.Context, tag string) []netip.Prefix { <-ctx.Done(); return nil }
	w := world{cfg: Config{EgressEchoURL: srv.URL + "/", RootCAs: pool, Mode: probes.ModeInternal}, tagPrefixes: never}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r := w.egressCheck().Probe.Run(ctx)
	// Nothing to compare the address with once the wait ends: a skip that
	// names the address, not a timeout before the echo was asked.
	if r.EgressIP != "203.0.113.9" || r.Status != probes.Skip || r.Reason != probes.ReasonNoData {
		t.Errorf("tags never came: %s/%s egress %q: %s", r.Status, r.Reason, r.EgressIP, r.Message)
	}

	// The VM's public IP decides without the tags, at once.
	w.vmPublicIP = "203.0.113.9"
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	start := time.Now()
	r = w.egressCheck().Probe.Run(ctx2)
	if r.Status != probes.Pass || time.Since(start) > 2*time.Second {
		t.Errorf("public IP match: %s/%s after %v: %s", r.Status, r.Reason, time.Since(start), r.Message)
	}
}

// The route analyses wait for route.egress-ip's result (judge.Wire):
// it is handed over when the check ends, and a plan without the check
// settles at once, so nothing waits for a check that never runs.
func TestEgressResultReachesTheRouteAnalyses(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("203.0.113.9")) }))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := Config{EgressEchoURL: srv.URL + "/", RootCAs: pool, Mode: probes.ModeInternal,
		ExpectEgress: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	w := world{cfg: cfg, egress: newEgressSeen()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r := w.egressCheck().Probe.Run(ctx); r.Status != probes.Warn {
		t.Fatalf("echo: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	if r := w.egress.Egress(ctx); r == nil || r.EgressIP != "203.0.113.9" || r.Reason != probes.ReasonForcedTunnel {
		t.Fatalf("handed over: %+v", r)
	}

	// --skip route.egress-ip: settled at planning, nil at once.
	cfg.Skip = []string{"route.egress-ip"}
	cfg.Cloud = probes.CloudPublic
	w = offline(cfg)
	w.egress = newEgressSeen()
	if _, err := w.checks(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.egress.done:
	default:
		t.Fatal("a plan without route.egress-ip left the analyses waiting")
	}
	if r := w.egress.Egress(context.Background()); r != nil {
		t.Errorf("skipped check handed over %+v", r)
	}
}
