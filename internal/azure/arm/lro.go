package arm

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// The long-running reads (effective routes and NSGs) answer 202 with a
// Location and, on real Azure, most likely Retry-After: 10 (azure-facts
// §11.3), whatever the operation will take: the recorded run found the
// result at the first poll 10 s later, which says nothing of when it was
// ready. Waiting for Retry-After would make every run take 10 s or more,
// so the polls follow a schedule of their own, measured from the 202:
//
//	50 ms, 250 ms, then every 250 ms up to 3.75 s (0.5 s, 0.75 s … 3.75 s),
//	then every 500 ms from 4.2 s up to 19.7 s (4.2 s, 4.7 s … 19.7 s),
//	then every second (20.7 s, 21.7 s …), until the run's deadline.
//
// An operation that is done within 3.75 s is seen at most 250 ms later,
// one done within 19.7 s at most 500 ms later; a read that completes after
// 15 s has cost 39 polls. A poll is never closer than PollGap to the one
// before (a slow answer skips the points it overran, never bunches the
// next polls). Retry-After on a 202 is not waited for; a 429 on a poll is
// the pipeline's (retried after its Retry-After when that ends before the
// deadline, else reported as throttled).
const (
	// PollGap is the least time between a poll's answer and the next poll.
	PollGap = 50 * time.Millisecond
	// The phases of the schedule: each poll point is from + k×every up to
	// until.
	pollFast     = 250 * time.Millisecond
	pollFastTo   = 3750 * time.Millisecond
	pollMid      = 500 * time.Millisecond
	pollMidFrom  = 4200 * time.Millisecond
	pollMidTo    = 19700 * time.Millisecond
	pollSlow     = time.Second
	pollSlowFrom = 20700 * time.Millisecond
)

// nextPoll is the offset from the 202 of the first poll point at least
// PollGap after elapsed (the offset of the last poll's end).
func nextPoll(elapsed time.Duration) time.Duration {
	at := elapsed + PollGap
	switch {
	case at <= PollGap:
		return PollGap
	case at <= pollFast:
		return pollFast
	case at <= pollFastTo:
		return roundUp(at, pollFast, pollFast)
	case at <= pollMidTo:
		return roundUp(at, pollMidFrom, pollMid)
	}
	return roundUp(at, pollSlowFrom, pollSlow)
}

// roundUp is the first of from, from+every, from+2×every … not before at.
func roundUp(at, from, every time.Duration) time.Duration {
	if at <= from {
		return from
	}
	return from + (at-from+every-1)/every*every
}

// PollUntilDone polls p on the schedule above until the operation is done
// or ctx ends; accepted is when the 202 arrived. It returns the number of
// polls made (for tests).
func PollUntilDone[T any](ctx context.Context, p *runtime.Poller[T], accepted time.Time) (int, error) {
	polls := 0
	// The last answer's offset from the 202: the 202's own (0) before the
	// first poll, whenever this is called, so that the first poll comes at
	// the schedule's first point and not, because the poller took a moment
	// to build, at the second.
	var last time.Duration
	for !p.Done() {
		wait := time.Until(accepted.Add(nextPoll(last)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return polls, ctx.Err()
		case <-t.C:
		}
		polls++
		if _, err := p.Poll(ctx); err != nil {
			return polls, err
		}
		last = time.Since(accepted)
	}
	return polls, nil
}
