package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// RunOptions bound a run: Timeout is each check's own limit, Deadline the
// whole run's hard limit, Concurrency the checks in flight at once.
type RunOptions struct {
	Timeout     time.Duration
	Deadline    time.Duration
	Concurrency int
	// OnDone, when set, is called after each check finishes (for logs).
	OnDone func(Outcome)
}

// grace is how long the runner waits for a probe that ignores its context
// before reporting it and moving on, so that a buggy probe can never hold the
// run past its deadline by more than this.
const grace = 150 * time.Millisecond

// Run runs the checks concurrently and returns one outcome per check, in the
// order given. It returns within Deadline plus a fraction of a second whatever
// the network does: checks not started by then, or cut by it, are fail with
// reason deadline.
func Run(ctx context.Context, checks []Check, o RunOptions) []Outcome {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, o.Deadline, ErrRunDeadline)
	defer cancel()

	outs := make([]Outcome, len(checks))
	run := func(i int) func() error {
		return func() error {
			timeout := o.Timeout
			if checks[i].UntilDeadline {
				timeout = 0 // the run's deadline alone
			}
			outs[i].Result = runOne(runCtx, checks[i], timeout)
			if o.OnDone != nil {
				o.OnDone(outs[i])
			}
			return nil
		}
	}
	// Analyses send nothing: they start at once, outside --concurrency, so
	// that one waiting for what discovery reads never holds one of the
	// network's places. The network checks then start in order, at most
	// Concurrency at a time.
	var analyses, network errgroup.Group
	network.SetLimit(o.Concurrency)
	var summaries, probing []int
	for i, c := range checks {
		outs[i].Check = c
		switch {
		case c.Summary != nil:
			summaries = append(summaries, i)
		case c.Probe == nil:
			outs[i].Result = preset(c)
		case c.Kind == KindAnalysis:
			analyses.Go(run(i))
		default:
			probing = append(probing, i)
		}
	}
	for _, i := range probing {
		network.Go(run(i))
	}
	network.Wait()
	analyses.Wait()
	// Summaries read every other outcome, so they come last.
	if len(summaries) > 0 {
		others := make([]Outcome, 0, len(outs)-len(summaries))
		for i, o := range outs {
			if checks[i].Summary == nil {
				others = append(others, o)
			}
		}
		for _, i := range summaries {
			outs[i].Result = clean(withHint(checks[i], checks[i].Summary(others)))
		}
	}
	return outs
}

func preset(c Check) Result {
	if c.Preset != nil {
		return clean(*c.Preset)
	}
	return Result{Status: Skip, Reason: ReasonError, Message: "check has neither a probe nor a preset result"}
}

// runOne gives the check its own limit under the run's deadline (none of
// its own when timeout is 0) and turns anything the probe leaves unsaid (a
// hint, a deadline cut) into data.
//
// Which limit binds the check is decided once, when it starts: its own
// when that ends before the run's deadline, else the run's deadline. A
// check that did not finish by the limit that binds it is timeout or
// deadline by that decision, never by which of the timers involved (the
// check's context, the run's, a socket deadline set from them) happened to
// fire first.
func runOne(runCtx context.Context, c Check, timeout time.Duration) Result {
	start := time.Now()
	if runCtx.Err() != nil {
		return deadlineResult(c, 0)
	}
	runEnd, hasRunEnd := runCtx.Deadline()
	byRun := timeout <= 0 || (hasRunEnd && !start.Add(timeout).Before(runEnd))
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if byRun {
		ctx, cancel = context.WithCancel(context.WithValue(runCtx, runBound{}, runEnd))
	} else {
		ctx, cancel = WithLimit(runCtx, timeout)
	}
	defer cancel()

	done := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Failf(ReasonError, c.Kind.FirstPhase(), fmt.Sprintf("probe panicked: %v (a bug in apimprobe: please report it)", p))
			}
		}()
		done <- c.Probe.Run(ctx)
	}()
	var res Result
	select {
	case res = <-done:
	case <-ctx.Done():
		select {
		case res = <-done:
		case <-time.After(grace):
			if byRun || context.Cause(ctx) != errCheckLimit {
				return deadlineResult(c, time.Since(start))
			}
			res = Failf(ReasonTimeout, c.Kind.FirstPhase(), fmt.Sprintf("no result within the check's limit of %s", timeout))
		}
	}
	ended := time.Now()
	res.Duration = ended.Sub(start)
	// A check that did not finish is never a pass. One that the run's
	// deadline bound and that ended at or after it was cut by it, whatever
	// the probe saw first; one that its own limit bound keeps the probe's
	// word (its context's cause is its own limit, so Classify says timeout
	// even when the run's context has ended by the time it looks).
	if res.Status != Pass && res.Status != Skip && res.Reason != ReasonDeadline &&
		byRun && hasRunEnd && !ended.Before(runEnd) && runEndedByDeadline(runCtx) {
		res.Reason = ReasonDeadline
		res.Message = "the run's --deadline ended the check before it finished (" + res.Message + ")"
	}
	res = withHint(c, res)
	if res.Reason == ReasonDeadline && res.Hint == "" {
		res.Hint = "Raise --deadline (or lower --timeout) so every check can finish; see the other checks for what was slow."
	}
	return clean(res)
}

// WithLimit is a context that a limit of its own ends (a check's
// --timeout), even inside one that only the run's deadline binds (an
// analysis probing hosts, or a runner nested in one): a timeout there is
// the check's, never the run's deadline.
func WithLimit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithValue(ctx, runBound{}, nil), d, errCheckLimit)
}

// errCheckLimit is the cause of a check's context when its own limit
// (--timeout) ends it.
var errCheckLimit = errors.New("the check's limit reached")

// runEndedByDeadline: the run's context ended by its deadline, or has not
// ended yet (its timer not fired, though the deadline has passed); not
// when it was cancelled otherwise (a signal).
func runEndedByDeadline(runCtx context.Context) bool {
	return runCtx.Err() == nil || errors.Is(context.Cause(runCtx), ErrRunDeadline) || errors.Is(runCtx.Err(), context.DeadlineExceeded)
}

// withHint lets the check's own hint (the catalogue knows the service tag
// and port) say what to change on a failure or a warning.
func withHint(c Check, res Result) Result {
	if (res.Status == Fail || res.Status == Warn) && c.Hint != nil {
		if h := c.Hint(res); h != "" {
			res.Hint = h
		}
	}
	return res
}

func deadlineResult(c Check, took time.Duration) Result {
	return Result{
		Status: Fail, Reason: ReasonDeadline, FailedPhase: c.Kind.FirstPhase(), Duration: took,
		Message: "the run's --deadline ended before this check could finish",
		Hint:    "Raise --deadline (or lower --timeout) so every check can finish; see the other checks for what was slow.",
	}
}
