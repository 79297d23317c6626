package probes

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// An HTTP check whose SYN is dropped is a timeout in connect when the
// runner's own limit ends it, as a TCP or TLS check's is: net/http reports
// the context's cause (the check's limit), which is a timeout, not an
// unexpected error.
func TestHTTPSilentDropUnderTheRunnerIsATimeout(t *testing.T) {
	port := silentPort(t)
	ch := Check{ID: "backend.silent", Kind: KindHTTP, Probe: HTTP{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/"}}
	outs := Run(context.Background(), []Check{ch}, RunOptions{Timeout: 300 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 1})
	r := outs[0].Result
	if r.Status != Fail || r.Reason != ReasonTimeout || r.FailedPhase != PhaseConnect {
		t.Fatalf("%s/%s/%s: %s", r.Status, r.Reason, r.FailedPhase, r.Message)
	}
}

// The same inside a check that only the run's deadline binds (an analysis
// that runs checks of its own, as backend.discovered does): the inner
// check's own limit ended it, which is a timeout, not the run's deadline.
func TestNestedRunnerKeepsTheInnerLimit(t *testing.T) {
	port := silentPort(t)
	inner := Check{ID: "backend.silent", Kind: KindHTTP, Probe: HTTP{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/"}}
	var got Result
	outer := Check{ID: "backend.discovered", Kind: KindAnalysis, UntilDeadline: true, Probe: ProbeFunc(func(ctx context.Context) Result {
		got = Run(ctx, []Check{inner}, RunOptions{Timeout: 300 * time.Millisecond, Deadline: 4 * time.Second, Concurrency: 1})[0].Result
		return Passf("ran")
	})}
	Run(context.Background(), []Check{outer}, RunOptions{Timeout: 100 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 1})
	if got.Status != Fail || got.Reason != ReasonTimeout || got.FailedPhase != PhaseConnect {
		t.Fatalf("%s/%s/%s: %s", got.Status, got.Reason, got.FailedPhase, got.Message)
	}
}

// A host probed with a limit of its own inside a run-bound analysis (as
// instance.dependencies probes its hosts) times out as itself.
func TestWithLimitInsideARunBoundCheck(t *testing.T) {
	port := silentPort(t)
	var got Result
	outer := Check{ID: "instance.dependencies", Kind: KindAnalysis, UntilDeadline: true, Probe: ProbeFunc(func(ctx context.Context) Result {
		pctx, cancel := WithLimit(ctx, 300*time.Millisecond)
		defer cancel()
		got = TCP{Host: "127.0.0.1", Port: port}.Run(pctx)
		return Passf("ran")
	})}
	Run(context.Background(), []Check{outer}, RunOptions{Timeout: 100 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 1})
	if got.Status != Fail || got.Reason != ReasonTimeout || got.FailedPhase != PhaseConnect {
		t.Fatalf("%s/%s/%s: %s", got.Status, got.Reason, got.FailedPhase, got.Message)
	}
}
