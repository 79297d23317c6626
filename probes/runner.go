package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
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

	r := &runner{ctx: runCtx, checks: checks, outs: make([]Outcome, len(checks)), o: o}
	// Analyses send nothing: they start at once, outside --concurrency, so
	// that one waiting for what discovery reads never holds one of the
	// network's places. The network checks then start in order, at most
	// Concurrency at a time, on as many workers: a worker runs one check
	// after another in its own goroutine, whose stack, grown by a TLS
	// handshake, the next check finds grown.
	var summaries, analyses []int
	for i, c := range checks {
		r.outs[i].Check = c
		switch {
		case c.Summary != nil:
			summaries = append(summaries, i)
		case c.Probe == nil:
			r.outs[i].Result = preset(c)
		case c.Kind == KindAnalysis:
			analyses = append(analyses, i)
		default:
			r.probing = append(r.probing, i)
		}
	}
	r.wg.Add(len(analyses) + len(r.probing))
	for _, i := range analyses {
		go r.runCheck(i, false)
	}
	for range min(o.Concurrency, len(r.probing)) {
		go r.work()
	}
	r.wg.Wait()
	outs := r.outs
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

// runner is one Run's checks and where they stand.
type runner struct {
	ctx     context.Context // the run's: its deadline
	checks  []Check
	outs    []Outcome
	o       RunOptions
	probing []int        // the network checks, in order
	next    atomic.Int64 // the index in probing of the next to start
	wg      sync.WaitGroup
}

// work runs network checks, the next one not started each time, until
// none is left, or until a check it runs is given up on (its probe ignored
// its context past the grace): then a new worker has taken its place and
// this one ends when the probe returns.
func (r *runner) work() {
	for {
		k := int(r.next.Add(1)) - 1
		if k >= len(r.probing) {
			return
		}
		if !r.runCheck(r.probing[k], true) {
			return
		}
	}
}

// runCheck runs check i and records its outcome. It returns false when the
// probe ignored its context past the grace: the check was then recorded as
// cut and, when replace is set, another worker started in this one's place.
func (r *runner) runCheck(i int, replace bool) bool {
	c := r.checks[i]
	timeout := r.o.Timeout
	if c.UntilDeadline {
		timeout = 0 // the run's deadline alone
	}
	done := func(res Result) {
		r.outs[i].Result = res
		if r.o.OnDone != nil {
			r.o.OnDone(r.outs[i])
		}
		r.wg.Done()
	}
	a, res, ok := begin(r.ctx, c, timeout)
	if !ok {
		done(res)
		return true
	}
	// The watch: once the check's context has ended, the probe has the
	// grace to return; then the check is recorded without it. It costs a
	// goroutine only when the context ends while the probe runs, and
	// another when the grace runs out.
	var (
		state atomic.Int32 // running, then finished or given up, once
		cut   *time.Timer  // at the end of the grace
		mu    sync.Mutex
	)
	const (
		running = iota
		finished
		givenUp
	)
	stopWatch := context.AfterFunc(a.ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if state.Load() != running {
			return
		}
		cut = time.AfterFunc(grace, func() {
			if !state.CompareAndSwap(running, givenUp) {
				return
			}
			res := a.givenUp(c, timeout) // from the cause its context ended with
			a.cancel()
			done(res)
			if replace {
				go r.work()
			}
		})
	})
	res = runProbe(a.ctx, c)
	if !state.CompareAndSwap(running, finished) {
		return false // recorded as cut; a new worker is at work
	}
	if !stopWatch() {
		mu.Lock()
		if cut != nil {
			cut.Stop()
		}
		mu.Unlock()
	}
	a.cancel()
	done(a.finish(c, res, timeout))
	return true
}

// runProbe runs the check's probe; a panic is a failed check.
func runProbe(ctx context.Context, c Check) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Failf(ReasonError, c.Kind.FirstPhase(), fmt.Sprintf("probe panicked: %v (a bug in apimprobe: please report it)", p))
		}
	}()
	return c.Probe.Run(ctx)
}

func preset(c Check) Result {
	if c.Preset != nil {
		return clean(*c.Preset)
	}
	return Result{Status: Skip, Reason: ReasonError, Message: "check has neither a probe nor a preset result"}
}

// attempt is one check's run: the limit that binds it, decided when it
// starts.
type attempt struct {
	ctx       context.Context
	cancel    context.CancelFunc
	start     time.Time
	byRun     bool
	runEnd    time.Time
	hasRunEnd bool
	runCtx    context.Context
}

// begin gives the check its own limit under the run's deadline (none of
// its own when timeout is 0); ok is false, with the result, when the run's
// deadline has passed already. finish and givenUp then turn anything the
// probe leaves unsaid (a hint, a deadline cut) into data.
//
// Which limit binds the check is decided once, when it starts: its own
// when that ends before the run's deadline, else the run's deadline. A
// check that did not finish by the limit that binds it is timeout or
// deadline by that decision, never by which of the timers involved (the
// check's context, the run's, a socket deadline set from them) happened to
// fire first.
func begin(runCtx context.Context, c Check, timeout time.Duration) (a *attempt, res Result, ok bool) {
	start := time.Now()
	if runCtx.Err() != nil {
		return nil, deadlineResult(c, 0), false
	}
	a = &attempt{start: start, runCtx: runCtx}
	a.runEnd, a.hasRunEnd = runCtx.Deadline()
	a.byRun = timeout <= 0 || (a.hasRunEnd && !start.Add(timeout).Before(a.runEnd))
	if a.byRun {
		a.ctx, a.cancel = context.WithCancel(context.WithValue(runCtx, runBound{}, a.runEnd))
	} else {
		a.ctx, a.cancel = WithLimit(runCtx, timeout)
	}
	return a, Result{}, true
}

// givenUp is the result of a check whose probe did not return within the
// grace after its context ended.
func (a *attempt) givenUp(c Check, timeout time.Duration) Result {
	if a.byRun || context.Cause(a.ctx) != errCheckLimit {
		return deadlineResult(c, time.Since(a.start))
	}
	return a.finish(c, Failf(ReasonTimeout, c.Kind.FirstPhase(), fmt.Sprintf("no result within the check's limit of %s", timeout)), timeout)
}

// finish is the check's result from what its probe returned.
func (a *attempt) finish(c Check, res Result, timeout time.Duration) Result {
	ended := time.Now()
	res.Duration = ended.Sub(a.start)
	// A check that did not finish is never a pass. One that the run's
	// deadline bound and that ended at or after it was cut by it, whatever
	// the probe saw first; one that its own limit bound keeps the probe's
	// word (its context's cause is its own limit, so Classify says timeout
	// even when the run's context has ended by the time it looks).
	if res.Status != Pass && res.Status != Skip && res.Reason != ReasonDeadline &&
		a.byRun && a.hasRunEnd && !ended.Before(a.runEnd) && runEndedByDeadline(a.runCtx) {
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
