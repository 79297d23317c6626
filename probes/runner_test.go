package probes

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

func sleepProbe(d time.Duration) Probe {
	return ProbeFunc(func(ctx context.Context) Result {
		select {
		case <-time.After(d):
			return Passf("slept")
		case <-ctx.Done():
			reason, msg := Classify(ctx, ctx.Err())
			return Failf(reason, PhaseConnect, msg)
		}
	})
}

// In virtual time (synctest), as are the runner's other tests: what they
// wait for is timers and contexts, so each duration is exact.
func TestRunnerCheckTimeoutVersusRunDeadline(t *testing.T) {
	synctest.Test(t, testRunnerCheckTimeoutVersusRunDeadline)
}

func testRunnerCheckTimeoutVersusRunDeadline(t *testing.T) {
	checks := []Check{
		{ID: "fast", Kind: "tcp", Probe: sleepProbe(10 * time.Millisecond)},
		{ID: "slow", Kind: "tcp", Probe: sleepProbe(time.Hour)},
		{ID: "preset", Kind: "tcp", Preset: &Result{Status: Skip, Reason: ReasonNoData}},
	}
	// The check's own limit ends "slow": reason timeout.
	outs := Run(context.Background(), checks, RunOptions{Timeout: 100 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 4})
	if outs[0].Result.Status != Pass || outs[1].Result.Reason != ReasonTimeout || outs[2].Result.Reason != ReasonNoData {
		t.Fatalf("timeout run: %+v", outs)
	}
	// The run's deadline ends it first: reason deadline, with a hint.
	start := time.Now()
	outs = Run(context.Background(), checks, RunOptions{Timeout: 10 * time.Second, Deadline: 150 * time.Millisecond, Concurrency: 4})
	if took := time.Since(start); took != 150*time.Millisecond {
		t.Fatalf("run took %s, its deadline is 150ms", took)
	}
	if r := outs[1].Result; r.Status != Fail || r.Reason != ReasonDeadline || r.Hint == "" {
		t.Fatalf("deadline run: %+v", r)
	}
	for i, want := range []string{"fast", "slow", "preset"} {
		if outs[i].Check.ID != want {
			t.Fatalf("order changed: %d is %s", i, outs[i].Check.ID)
		}
	}
}

func TestRunnerChecksNotStartedBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, testRunnerChecksNotStartedBeforeTheDeadline)
}

func testRunnerChecksNotStartedBeforeTheDeadline(t *testing.T) {
	var checks []Check
	for i := 0; i < 6; i++ {
		checks = append(checks, Check{ID: fmt.Sprint(i), Kind: "tls", Probe: sleepProbe(time.Hour)})
	}
	outs := Run(context.Background(), checks, RunOptions{Timeout: time.Hour, Deadline: 100 * time.Millisecond, Concurrency: 2})
	for _, o := range outs {
		if o.Result.Status != Fail || o.Result.Reason != ReasonDeadline || o.Result.FailedPhase == PhaseNone {
			t.Fatalf("%s: %+v", o.Check.ID, o.Result)
		}
	}
}

func TestRunnerBoundsConcurrency(t *testing.T) { synctest.Test(t, testRunnerBoundsConcurrency) }

func testRunnerBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	probe := ProbeFunc(func(ctx context.Context) Result {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		return Passf("ok")
	})
	var checks []Check
	for i := 0; i < 20; i++ {
		checks = append(checks, Check{ID: fmt.Sprint(i), Probe: probe})
	}
	start := time.Now()
	Run(context.Background(), checks, RunOptions{Timeout: time.Second, Deadline: 5 * time.Second, Concurrency: 3})
	if peak.Load() != 3 {
		t.Fatalf("peak in flight %d, want 3", peak.Load())
	}
	// 20 probes of 20ms, three at a time: seven rounds.
	if took := time.Since(start); took != 7*20*time.Millisecond {
		t.Fatalf("took %s, want seven rounds of 20ms", took)
	}
}

func TestRunnerSurvivesAProbeThatIgnoresItsContext(t *testing.T) {
	synctest.Test(t, testRunnerSurvivesAProbeThatIgnoresItsContext)
}

func testRunnerSurvivesAProbeThatIgnoresItsContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release) // the stubborn probe ends with the bubble
	stubborn := ProbeFunc(func(ctx context.Context) Result { <-release; return Passf("late") })
	panicky := ProbeFunc(func(ctx context.Context) Result { panic("boom") })
	start := time.Now()
	outs := Run(context.Background(), []Check{{ID: "stubborn", Kind: "tcp", Probe: stubborn}, {ID: "panicky", Kind: "tcp", Probe: panicky}},
		RunOptions{Timeout: 50 * time.Millisecond, Deadline: time.Second, Concurrency: 2})
	// Its 50ms limit, then the grace a probe gets to say why: no more.
	if took := time.Since(start); took != 50*time.Millisecond+grace {
		t.Fatalf("a stubborn probe held the run for %s, want its limit and the grace, %s", took, 50*time.Millisecond+grace)
	}
	if outs[0].Result.Status != Fail || outs[0].Result.Reason != ReasonTimeout {
		t.Fatalf("stubborn: %+v", outs[0].Result)
	}
	if outs[1].Result.Status != Fail || outs[1].Result.Reason != ReasonError {
		t.Fatalf("panicky: %+v", outs[1].Result)
	}
}

// A probe that ignores its context holds its worker, not a network place:
// once the grace after its limit has run out, the check is recorded as a
// timeout and a new worker takes the next check. The stuck worker, when
// its probe at last returns, takes no other check and ends. With one place
// and a 100ms limit: "stuck" is cut at 100ms + grace, "next" then runs
// 90ms, "last" 10ms after it, though the stuck probe returned (at 300ms)
// before "next" ended.
func TestRunnerReplacesAWorkerStuckInAProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := testtool.BubbleGoroutines(t)
		var inFlight, peak atomic.Int32
		timed := func(d time.Duration) Probe {
			return ProbeFunc(func(ctx context.Context) Result {
				peak.Store(max(peak.Load(), inFlight.Add(1)))
				defer inFlight.Add(-1)
				time.Sleep(d)
				return Passf("slept")
			})
		}
		stuck := ProbeFunc(func(ctx context.Context) Result { time.Sleep(300 * time.Millisecond); return Passf("late") })
		start := time.Now()
		outs := Run(context.Background(), []Check{
			{ID: "stuck", Kind: KindTCP, Probe: stuck},
			{ID: "next", Kind: KindTCP, Probe: timed(90 * time.Millisecond)},
			{ID: "last", Kind: KindTCP, Probe: timed(10 * time.Millisecond)},
		}, RunOptions{Timeout: 100 * time.Millisecond, Deadline: time.Second, Concurrency: 1})
		if took, want := time.Since(start), 100*time.Millisecond+grace+90*time.Millisecond+10*time.Millisecond; took != want {
			t.Errorf("run took %s, want %s", took, want)
		}
		if r := outs[0].Result; r.Status != Fail || r.Reason != ReasonTimeout || r.Duration != 100*time.Millisecond+grace {
			t.Errorf("stuck: %+v", r)
		}
		for _, o := range outs[1:] {
			if o.Result.Status != Pass {
				t.Errorf("%s: %+v", o.Check.ID, o.Result)
			}
		}
		if peak.Load() != 1 {
			t.Errorf("%d checks in flight at once, want 1", peak.Load())
		}
		synctest.Wait()
		if n := testtool.BubbleGoroutines(t) - before; n != 0 {
			t.Errorf("%d goroutines left after the run", n)
		}
	})
}

// A run cancelled (a signal) while a probe ignores its context waits the
// grace for it, not the probe's limit: the watch starts when the check's
// context ends, whatever ended it.
func TestRunnerCancelledWaitsOnlyTheGraceForAStuckProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		start := time.Now()
		outs := Run(ctx, []Check{{ID: "stuck", Kind: KindTCP, Probe: ProbeFunc(func(context.Context) Result { <-release; return Passf("late") })}},
			RunOptions{Timeout: time.Second, Deadline: 5 * time.Second, Concurrency: 1})
		if took := time.Since(start); took != 30*time.Millisecond+grace {
			t.Errorf("run took %s, want the cancel and the grace, %s", took, 30*time.Millisecond+grace)
		}
		if r := outs[0].Result; r.Status != Fail || r.Reason != ReasonDeadline {
			t.Errorf("stuck: %+v", r)
		}
	})
}

func TestRunnerAppliesHints(t *testing.T) {
	c := Check{ID: "x", Kind: "tcp", Probe: ProbeFunc(func(context.Context) Result { return Failf(ReasonRefused, PhaseConnect, "refused") }),
		Hint: func(r Result) string { return "allow it: " + string(r.Reason) }}
	outs := Run(context.Background(), []Check{c}, RunOptions{Timeout: time.Second, Deadline: time.Second, Concurrency: 1})
	if outs[0].Result.Hint != "allow it: refused" {
		t.Fatalf("hint %q", outs[0].Result.Hint)
	}
}

// A warning carries the check's hint just as a failure does; a pass and a
// skip get none, and a hint function that has nothing to add keeps the
// probe's own hint.
func TestRunnerAppliesHintsToWarnings(t *testing.T) {
	hint := func(r Result) string {
		if r.Reason == ReasonTLSHandshake {
			return ""
		}
		return "do this: " + string(r.Reason)
	}
	mk := func(id string, r Result) Check {
		return Check{ID: id, Kind: "tls", Probe: ProbeFunc(func(context.Context) Result { return r }), Hint: hint}
	}
	own := Failf(ReasonTLSHandshake, PhaseTLS, "odd server")
	own.Hint = "the probe's own hint"
	outs := Run(context.Background(), []Check{
		mk("warn", Warnf(ReasonTLSIntercepted, PhaseTLS, "inspected")),
		mk("fail", Failf(ReasonReset, PhaseTLS, "reset")),
		mk("pass", Passf("fine")),
		mk("skip", Skipf(ReasonNotApplicable, "n/a", "")),
		mk("own", own),
	}, RunOptions{Timeout: time.Second, Deadline: time.Second, Concurrency: 2})
	for i, want := range []string{"do this: tls-intercepted", "do this: reset", "", "", "the probe's own hint"} {
		if got := outs[i].Result.Hint; got != want {
			t.Errorf("%s (%s): hint %q, want %q", outs[i].Check.ID, outs[i].Result.Status, got, want)
		}
	}
}

// BenchmarkRunSilentDrops is SPEC's budget: 40 checks of which 10 are silent
// drops at a 2s timeout finish close to 2s (the slowest check), not the sum.
func BenchmarkRunSilentDrops(b *testing.B) {
	ok := acceptingListener(b, nil)
	var silent []int
	for i := 0; i < 10; i++ {
		silent = append(silent, silentPort(b))
	}
	var checks []Check
	for i := 0; i < 40; i++ {
		port := ok
		if i < 10 {
			port = silent[i]
		}
		checks = append(checks, Check{ID: fmt.Sprint(i), Kind: "tcp", Probe: TCP{Host: "127.0.0.1", Port: port}})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		outs := Run(context.Background(), checks, RunOptions{Timeout: 2 * time.Second, Deadline: 30 * time.Second, Concurrency: 32})
		b.ReportMetric(time.Since(start).Seconds(), "wall-s")
		if outs[0].Result.Reason != ReasonTimeout || outs[39].Result.Status != Pass {
			b.Fatalf("unexpected outcomes: %+v / %+v", outs[0].Result, outs[39].Result)
		}
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapSys)/1e6, "heap-sys-MB")
}

// A check that waits for discovery gets the run's deadline, not --timeout,
// and holds no concurrency slot: with one slot taken by a network check of
// 300 ms, two waiters of 250 ms (longer than the 100 ms --timeout) both
// pass, and the network check is not queued behind them.
func TestRunnerUntilDeadlineWaitsBeyondTimeoutWithoutASlot(t *testing.T) {
	synctest.Test(t, testRunnerUntilDeadlineWaitsBeyondTimeoutWithoutASlot)
}

func testRunnerUntilDeadlineWaitsBeyondTimeoutWithoutASlot(t *testing.T) {
	checks := []Check{
		{ID: "wait1", Kind: KindAnalysis, UntilDeadline: true, Probe: sleepProbe(250 * time.Millisecond)},
		{ID: "wait2", Kind: KindAnalysis, UntilDeadline: true, Probe: sleepProbe(250 * time.Millisecond)},
		{ID: "net", Kind: KindTCP, Probe: sleepProbe(50 * time.Millisecond)},
		{ID: "net-slow", Kind: KindTCP, Probe: sleepProbe(time.Hour)},
	}
	start := time.Now()
	outs := Run(context.Background(), checks, RunOptions{Timeout: 100 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 1})
	took := time.Since(start)
	for _, i := range []int{0, 1, 2} {
		if outs[i].Result.Status != Pass {
			t.Errorf("%s: %+v", outs[i].Check.ID, outs[i].Result)
		}
	}
	if r := outs[3].Result; r.Reason != ReasonTimeout {
		t.Errorf("net-slow must still end at --timeout: %+v", r)
	}
	// Waiters run beside the one slot: 250 ms, not 2×250 + the network.
	if took != 250*time.Millisecond {
		t.Errorf("waiters held the slot or each other: %v", took)
	}
	// The run's deadline still ends a waiter.
	outs = Run(context.Background(), checks[:1], RunOptions{Timeout: 10 * time.Millisecond, Deadline: 100 * time.Millisecond, Concurrency: 1})
	if r := outs[0].Result; r.Status != Fail || r.Reason != ReasonDeadline {
		t.Errorf("waiter past the deadline: %+v", r)
	}
}

// An analysis waits for what discovery reads without holding one of the
// network's places: with --concurrency 1, an analysis that waits for the
// only network check still lets it run.
func TestAnalysesDoNotTakeNetworkPlaces(t *testing.T) {
	synctest.Test(t, testAnalysesDoNotTakeNetworkPlaces)
}

func testAnalysesDoNotTakeNetworkPlaces(t *testing.T) {
	netDone := make(chan struct{})
	checks := []Check{
		{ID: "route.x", Kind: KindAnalysis, Probe: ProbeFunc(func(ctx context.Context) Result {
			select {
			case <-netDone:
				return Passf("discovery answered")
			case <-ctx.Done():
				return Failf(ReasonTimeout, PhaseAnalysis, "waited in vain")
			}
		})},
		{ID: "outbound.x", Kind: KindTCP, Probe: ProbeFunc(func(context.Context) Result {
			close(netDone)
			return Passf("connected")
		})},
	}
	start := time.Now()
	outs := Run(context.Background(), checks, RunOptions{Timeout: 2 * time.Second, Deadline: 5 * time.Second, Concurrency: 1})
	if outs[0].Result.Status != Pass || outs[1].Result.Status != Pass || time.Since(start) != 0 {
		t.Fatalf("analysis %s (%s), network %s, after %s", outs[0].Result.Status, outs[0].Result.Message, outs[1].Result.Status, time.Since(start))
	}
}

// socketProbe waits like a dial or a read whose socket deadline is set from
// ctx's deadline (as net does): its own timer and the contexts' fire at the
// same instant, in either order, and it classifies whatever it saw first.
func socketProbe() Probe {
	return ProbeFunc(func(ctx context.Context) Result {
		dl, ok := ctx.Deadline()
		if !ok {
			<-ctx.Done()
			reason, msg := Classify(ctx, ctx.Err())
			return Failf(reason, PhaseConnect, msg)
		}
		socket := time.NewTimer(time.Until(dl))
		defer socket.Stop()
		select {
		case <-socket.C:
			reason, msg := Classify(ctx, os.ErrDeadlineExceeded)
			return Failf(reason, PhaseConnect, msg)
		case <-ctx.Done():
			reason, msg := Classify(ctx, ctx.Err())
			return Failf(reason, PhaseConnect, msg)
		}
	})
}

// A check whose limit the run's deadline shortened (or met exactly) is
// deadline, always: whichever of the check's timer, the run's and the
// socket's fires first. A check whose own limit came first is timeout,
// always, even when its result arrives after the run's deadline; and each
// says so in the same words every time. Each case
// runs many times in virtual time, where simultaneous timers fire in a
// random order.
func TestRunnerDeadlineVersusTimeoutIsDecidedByTheLimitNotTheRace(t *testing.T) {
	cases := []struct {
		name              string
		timeout, deadline time.Duration
		lead              time.Duration // a first check holds the only slot this long
		probe             Probe
		want              Reason
	}{
		{"limit shortened to the deadline", 10 * time.Second, time.Second, 0, socketProbe(), ReasonDeadline},
		{"limit equal to the deadline", time.Second, time.Second, 0, socketProbe(), ReasonDeadline},
		{"started late, limit past the deadline", time.Second, time.Second, 400 * time.Millisecond, socketProbe(), ReasonDeadline},
		{"own limit first", 500 * time.Millisecond, time.Second, 0, socketProbe(), ReasonTimeout},
		{"own limit first, result after the deadline", 950 * time.Millisecond, time.Second, 0, ProbeFunc(func(ctx context.Context) Result {
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // a probe slow to notice
			reason, msg := Classify(ctx, ctx.Err())
			return Failf(reason, PhaseConnect, msg)
		}), ReasonTimeout},
		{"sleep probe, limit shortened", 10 * time.Second, time.Second, 0, sleepProbe(time.Hour), ReasonDeadline},
	}
	for _, c := range cases {
		got, msgs := map[Reason]int{}, map[string]bool{}
		for range 200 {
			synctest.Test(t, func(t *testing.T) {
				checks := []Check{{ID: "cut", Kind: "tcp", Probe: c.probe}}
				if c.lead > 0 {
					checks = append([]Check{{ID: "lead", Kind: "tcp", Probe: sleepProbe(c.lead)}}, checks...)
				}
				outs := Run(context.Background(), checks, RunOptions{Timeout: c.timeout, Deadline: c.deadline, Concurrency: 1})
				r := outs[len(outs)-1].Result
				got[r.Reason]++
				msgs[r.Message] = true
				if r.Status != Fail {
					t.Errorf("%s: %+v", c.name, r)
				}
			})
		}
		if got[c.want] != 200 {
			t.Errorf("%s: reasons over 200 runs %v, want %s every time", c.name, got, c.want)
		}
		if len(msgs) != 1 {
			t.Errorf("%s: %d different messages over 200 runs, want one: %v", c.name, len(msgs), msgs)
		}
	}
}

// A check that waits until the deadline (the instance's dependencies, the
// backends) and probes inside with a nearer limit of its own: that limit
// running out is a timeout, not the run's deadline.
func TestRunnerInnerLimitUnderUntilDeadlineIsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := ProbeFunc(func(ctx context.Context) Result {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			<-pctx.Done()
			reason, msg := Classify(pctx, pctx.Err())
			return Failf(reason, PhaseConnect, msg)
		})
		checks := []Check{{ID: "wrapper", Kind: "tcp", Probe: inner, UntilDeadline: true}}
		outs := Run(context.Background(), checks, RunOptions{Timeout: 2 * time.Second, Deadline: 15 * time.Second, Concurrency: 1})
		if r := outs[0].Result; r.Reason != ReasonTimeout {
			t.Fatalf("inner limit of 2s in a 15s run: %s (%s), want timeout", r.Reason, r.Message)
		}
	})
}
