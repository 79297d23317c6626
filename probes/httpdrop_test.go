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
