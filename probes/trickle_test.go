package probes

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// trickle is a real TLS server whose every byte out is sent alone, one
// every so often: it answers the ClientHello, slower than any check's limit.
func trickle(t testing.TB, ca *testCA, host string, every time.Duration) int {
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, host)}}
	return acceptingListener(t, func(c net.Conn) {
		defer c.Close()
		tls.Server(slowWriter{c, every}, cfg).Handshake()
	})
}

type slowWriter struct {
	net.Conn
	every time.Duration
}

func (w slowWriter) Write(b []byte) (int, error) {
	for i := range b {
		if _, err := w.Conn.Write(b[i : i+1]); err != nil {
			return i, err
		}
		time.Sleep(w.every)
	}
	return len(b), nil
}

// A TLS server answering one byte a second is not "no answer to the
// ClientHello": it answered, and stalled; the message says which.
func TestTLSTrickleIsNotSilence(t *testing.T) {
	ca := newCA(t, "Azure")
	port := trickle(t, ca, "slow.test", 100*time.Millisecond)
	res := mapResolver{"slow.test": {"127.0.0.1"}}
	for name, p := range map[string]Probe{
		"tls":  TLS{Host: "slow.test", Port: port, Resolver: res, RootCAs: ca.pool},
		"http": HTTP{URL: fmt.Sprintf("https://slow.test:%d/", port), Resolver: res, RootCAs: ca.pool},
	} {
		r := p.Run(ctxTimeout(t, 400*time.Millisecond))
		if r.Reason != ReasonTimeout || r.FailedPhase != PhaseTLS || strings.Contains(r.Message, "no answer to the ClientHello") || !strings.Contains(r.Message, "began answering") {
			t.Errorf("%s: %s/%s %q", name, r.Reason, r.FailedPhase, r.Message)
		}
	}
}

// The HTTP probe's hooks may fire after it returned (the transport finishes
// a handshake a deadline cut): nothing it returned may change then. Under
// -race this reads the results (as the JSON writer does) while late
// handshakes complete.
func TestHTTPResultStableAfterDeadlineCutsHandshake(t *testing.T) {
	ca := newCA(t, "Azure")
	cert := ca.leaf(t, "late.test")
	// The server completes the handshake, late: after the run's deadline.
	port := acceptingListener(t, func(c net.Conn) {
		defer c.Close()
		time.Sleep(60 * time.Millisecond)
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		tc.Handshake()
		time.Sleep(100 * time.Millisecond)
	})
	var checks []Check
	for i := range 8 {
		checks = append(checks, Check{ID: fmt.Sprint("c", i), Kind: KindHTTP, Probe: HTTP{
			URL: fmt.Sprintf("https://late.test:%d/", port), Resolver: mapResolver{"late.test": {"127.0.0.1"}}, RootCAs: ca.pool,
		}})
	}
	outs := Run(context.Background(), checks, RunOptions{Timeout: time.Second, Deadline: 40 * time.Millisecond, Concurrency: 8})
	var wg sync.WaitGroup
	stop := time.Now().Add(250 * time.Millisecond)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				for _, o := range outs {
					if _, err := json.Marshal(map[string]any{"phases": o.Result.Phases, "evidence": o.Result.EvidenceMap()}); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o.Result.Status == Pass || o.Result.Reason != ReasonDeadline {
			t.Errorf("%s: %s/%s %s", o.Check.ID, o.Result.Status, o.Result.Reason, o.Result.Message)
		}
	}
}
