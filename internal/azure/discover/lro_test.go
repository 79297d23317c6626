package discover

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/netwire"
)

// fakeLRO is Resource Manager's long-running read on the recorded wire
// (azure-facts §11.3), in virtual time: the POST answers 202 with a
// Location and Retry-After: 10, each poll 202 until after has passed since
// the POST, then 200 with the result. latency is how long each answer
// takes.
type fakeLRO struct {
	t       *testing.T
	after   time.Duration
	latency time.Duration
	mu      sync.Mutex
	posted  time.Time
	polls   []time.Time
}

func (f *fakeLRO) Do(req *http.Request) (*http.Response, error) {
	time.Sleep(f.latency)
	f.mu.Lock()
	defer f.mu.Unlock()
	h := http.Header{"Content-Type": {"application/json"}}
	if req.Method == http.MethodPost {
		f.posted = time.Now()
	} else {
		f.polls = append(f.polls, time.Now())
	}
	if req.Method == http.MethodPost || time.Since(f.posted) < f.after {
		h.Set("Location", "https://arm.test/operations/routes-1?api-version=2025-01-01")
		h.Set("Retry-After", "10")
		return &http.Response{StatusCode: http.StatusAccepted, Header: h, Body: io.NopCloser(bytes.NewReader([]byte("null"))), Request: req}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(fixture(f.t, "effective-routes.json"))), Request: req}, nil
}

func lroSession(tr policy.Transporter) *armSession {
	return &armSession{Session: arm.SessionOf("https://arm.test", "", runtime.NewPipeline("apimprobe-test", "v0", runtime.PipelineOptions{},
		&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}), nil, nil)}
}

// A long-running read ends within 0.3 s of the operation completing,
// whether it completes at once or after 1, 3.5, 8 or 15 s, with at most
// 40 polls, whatever Retry-After says (10 s, as real Azure does).
func TestLongRunningReadEndsSoonAfterCompletion(t *testing.T) {
	for _, after := range []time.Duration{0, time.Second, 3500 * time.Millisecond, 8 * time.Second, 15 * time.Second} {
		for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeLRO{t: t, after: after, latency: latency}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				start := time.Now()
				var out netwire.EffectiveRouteList
				if err := postLRO(ctx, lroSession(f), "/nic/effectiveRouteTable", &out); err != nil {
					t.Fatalf("completion after %v: %v", after, err)
				}
				lag := time.Since(start) - after - latency // the POST's own latency is the server's
				if out.Value == nil || len(*out.Value) == 0 {
					t.Errorf("completion after %v: no routes decoded", after)
				}
				if lag > 300*time.Millisecond {
					t.Errorf("completion after %v (latency %v): the read ended %v after it, want ≤ 0.3 s", after, latency, lag)
				}
				if len(f.polls) > 40 {
					t.Errorf("completion after %v: %d polls, want ≤ 40", after, len(f.polls))
				}
				t.Logf("completion after %v, latency %v: ended %v later, %d polls", after, latency, lag, len(f.polls))
			})
		}
	}
}

// An operation still running at the deadline ends the read at the
// deadline, not at the next poll point.
func TestLongRunningReadEndsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeLRO{t: t, after: time.Minute}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+123*time.Millisecond)
		defer cancel()
		start := time.Now()
		var out netwire.EffectiveRouteList
		err := postLRO(ctx, lroSession(f), "/nic/effectiveRouteTable", &out)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the deadline", err)
		}
		if took := time.Since(start); took != 10*time.Second+123*time.Millisecond {
			t.Errorf("the read ended after %v, want at the deadline", took)
		}
	})
}

// Slow answers never bunch the polls: each comes at least arm.PollGap after
// the previous answer, on the schedule's next point.
func TestLongRunningReadPollsNeverBunch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeLRO{t: t, after: 6 * time.Second, latency: 400 * time.Millisecond}
		var out netwire.EffectiveRouteList
		if err := postLRO(context.Background(), lroSession(f), "/nic/effectiveRouteTable", &out); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(f.polls); i++ {
			// Each poll's request left arm.PollGap or more after the previous
			// answer arrived (its time here is after its own latency).
			if gap := f.polls[i].Sub(f.polls[i-1]) - f.latency; gap < arm.PollGap {
				t.Errorf("poll %d came %v after the previous answer, want ≥ %v", i, gap, arm.PollGap)
			}
		}
	})
}
