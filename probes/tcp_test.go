package probes

import (
	"strings"
	"testing"
	"time"
)

func TestTCPOutcomes(t *testing.T) {
	res := mapResolver{"svc.test": {"127.0.0.1"}}
	cases := []struct {
		name   string
		port   func(t testing.TB) int
		host   string
		status Status
		reason Reason
		phase  Phase
	}{
		{"accepts", func(t testing.TB) int { return acceptingListener(t, nil) }, "svc.test", Pass, ReasonOK, PhaseNone},
		{"refused", refusedPort, "svc.test", Fail, ReasonRefused, PhaseConnect},
		{"silent drop", silentPort, "svc.test", Fail, ReasonTimeout, PhaseConnect},
		{"nxdomain", func(t testing.TB) int { return 1 }, "missing.test", Fail, ReasonNXDomain, PhaseResolve},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := TCP{Host: tc.host, Port: tc.port(t), Resolver: res}
			// The reason says which limit ended it; no clock is read.
			r := p.Run(ctxTimeout(t, 500*time.Millisecond))
			if r.Status != tc.status || r.Reason != tc.reason || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q (%s), want %s/%s/%q", r.Status, r.Reason, r.FailedPhase, r.Message, tc.status, tc.reason, tc.phase)
			}
			if tc.reason != ReasonNXDomain && (len(r.Addresses) != 1 || r.Addresses[0] != "127.0.0.1") {
				t.Fatalf("addresses %v: the dialled address must be reported", r.Addresses)
			}
			if r.Status == Fail && r.Message == "" {
				t.Fatal("a failure must say what was seen")
			}
		})
	}
}

func TestTCPSilentDropMessageNamesTheDrop(t *testing.T) {
	p := TCP{Host: "127.0.0.1", Port: silentPort(t)}
	r := p.Run(ctxTimeout(t, 300*time.Millisecond))
	if r.Reason != ReasonTimeout || r.Phases["connect_ms"] < 250 {
		t.Fatalf("got %s after %dms: %s", r.Reason, r.Phases["connect_ms"], r.Message)
	}
	if want := "no answer to TCP SYN"; !strings.Contains(r.Message, want) {
		t.Fatalf("message %q lacks %q", r.Message, want)
	}
}
