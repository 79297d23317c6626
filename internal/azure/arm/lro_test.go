package arm

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// The schedule as the README states it.
func TestPollSchedule(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var got []time.Duration
	for at := time.Duration(0); len(got) < 52; {
		at = nextPoll(at)
		got = append(got, at)
	}
	want := []time.Duration{ms(50), ms(250)}
	for p := ms(500); p <= ms(3750); p += ms(250) {
		want = append(want, p)
	}
	for p := ms(4200); p <= ms(19700); p += ms(500) {
		want = append(want, p)
	}
	for p := ms(20700); len(want) < 52; p += time.Second {
		want = append(want, p)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("poll %d at %v, want %v (schedule %v)", i, got[i], want[i], got)
		}
	}
	// A completion at 15 s is seen by the 39th poll, at 15.2 s.
	n := 0
	for _, p := range got {
		n++
		if p >= 15*time.Second {
			break
		}
	}
	if n != 39 || got[n-1] != ms(15200) {
		t.Errorf("a completion at 15 s is seen by poll %d at %v, want 39 at 15.2 s", n, got[n-1])
	}
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// The first poll comes at the schedule's first point, 50 ms after the 202,
// even when building the poller took a moment after the 202 arrived (as
// it always does on a real machine): it used to slip to the second point,
// 250 ms.
func TestFirstPollAtTheFirstPoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var polled []time.Time
		answer := func(req *http.Request, code int, body string) *http.Response {
			h := http.Header{"Content-Type": {"application/json"}}
			if code == http.StatusAccepted {
				h.Set("Location", "https://arm.test/operations/routes-1")
				h.Set("Retry-After", "10")
			}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}
		}
		pl := runtime.NewPipeline("apimprobe-test", "v0", runtime.PipelineOptions{}, &policy.ClientOptions{
			Retry: policy.RetryOptions{MaxRetries: -1},
			Transport: transportFunc(func(req *http.Request) (*http.Response, error) {
				polled = append(polled, time.Now())
				return answer(req, http.StatusOK, `{"value": []}`), nil
			}),
		})
		post, err := http.NewRequest(http.MethodPost, "https://arm.test/nic/effectiveRouteTable", nil)
		if err != nil {
			t.Fatal(err)
		}
		accepted := time.Now()
		p, err := runtime.NewPoller(answer(post, http.StatusAccepted, "null"), pl,
			&runtime.NewPollerOptions[struct{}]{FinalStateVia: runtime.FinalStateViaLocation})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // the time it takes on a real machine
		polls, err := PollUntilDone(context.Background(), p, accepted)
		if err != nil || polls != 1 || len(polled) != 1 {
			t.Fatalf("%d polls (%d requests), %v; want the one that finds it done", polls, len(polled), err)
		}
		if at := polled[0].Sub(accepted); at != PollGap {
			t.Errorf("the first poll came %v after the 202, want %v", at, PollGap)
		}
	})
}
