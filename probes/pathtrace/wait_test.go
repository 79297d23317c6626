package pathtrace

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// step scripts one TTL's probe for fakeProbe: it leaves after leave and is
// answered answer after it left (never, when kind is Silent).
type step struct {
	leave, answer time.Duration
	kind          Kind
	addr          string
}

// fakeProbe plays a script the way probeTTL behaves: it calls sent when the
// probe leaves, returns the answer when it comes, and when ctx ends first it
// still returns an answer that was due by then (probeTTL's last look at the
// socket), or a silent hop.
func fakeProbe(script map[int]step) probeFunc {
	return func(ctx context.Context, _ netip.AddrPort, ttl int, sent func()) (Hop, error) {
		s := script[ttl]
		select {
		case <-time.After(s.leave):
		case <-ctx.Done():
			return Hop{Kind: Silent}, nil
		}
		sent()
		left := time.Now()
		if s.kind == "" || s.kind == Silent {
			<-ctx.Done()
			return Hop{Kind: Silent}, nil
		}
		h := Hop{Kind: s.kind, Addr: netip.MustParseAddr(s.addr), RTT: s.answer}
		select {
		case <-time.After(s.answer):
			return h, nil
		case <-ctx.Done():
			if time.Since(left) >= s.answer {
				return h, nil
			}
			return Hop{Kind: Silent}, nil
		}
	}
}

func TestTraceWaitsForNearerHops(t *testing.T) {
	const appliance, server = "10.0.0.4", "203.0.113.7"
	dst := netip.MustParseAddrPort(server + ":443")
	ms := time.Millisecond
	reached := func(leave, rtt time.Duration) step { return step{leave, rtt, Reached, server} }
	beyond := map[int]step{3: reached(0, 10*ms), 4: reached(0, 10*ms)}
	with := func(m map[int]step) map[int]step {
		for k, v := range beyond {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name string
		// The server answers at TTL 2 (a refusal from the appliance in
		// one case); hop 1 is the appliance or silent.
		script   map[int]step
		hop1     Kind
		wait     time.Duration // reported wait; 0 when hop 1 answered
		min, max time.Duration // how long the trace may take
	}{
		// hopWait(10 ms) = 25 ms after hop 1's probe left.
		{"answers after the destination, within the bound",
			with(map[int]step{1: {0, 20 * ms, TimeExceeded, appliance}, 2: reached(0, 10*ms)}),
			TimeExceeded, 0, 20 * ms, 25 * ms},
		{"silent hop is given up at the bound",
			with(map[int]step{1: {0, 0, Silent, ""}, 2: reached(0, 10*ms)}),
			Silent, 25 * ms, 25 * ms, 120 * ms},
		{"answer past the bound is not awaited",
			with(map[int]step{1: {0, 80 * ms, TimeExceeded, appliance}, 2: reached(0, 10*ms)}),
			Silent, 25 * ms, 25 * ms, 70 * ms},
		// Its goroutine ran late: the bound counts from its own probe,
		// so the answer 3 ms after it left is found although it comes
		// 33 ms after the server's (a bound counted from the server's
		// answer would have given up at 35 ms).
		{"probe that left late is waited for from its own departure",
			with(map[int]step{1: {40 * ms, 3 * ms, TimeExceeded, appliance}, 2: reached(0, 10*ms)}),
			TimeExceeded, 0, 43 * ms, 70 * ms},
		// A far destination widens the bound: hopWait(40 ms) = 85 ms.
		{"bound grows with the destination's round trip",
			map[int]step{1: {0, 70 * ms, TimeExceeded, appliance}, 2: reached(0, 40*ms), 3: reached(0, 40*ms), 4: reached(0, 40*ms)},
			TimeExceeded, 0, 70 * ms, 85 * ms},
		{"a refusal ends the path like an arrival",
			map[int]step{1: {0, 0, Silent, ""}, 2: {0, 10 * ms, Unreachable, appliance},
				3: {0, 10 * ms, Unreachable, appliance}, 4: {0, 10 * ms, Unreachable, appliance}},
			Silent, 25 * ms, 25 * ms, 120 * ms},
	}
	// In virtual time (synctest): the script's timers and the trace's bound
	// fire exactly when due, so the window below is not stretched by a
	// loaded machine.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				start := time.Now()
				hops, wait, err := trace(ctx, dst, 4, fakeProbe(tc.script))
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if hops[0].Kind != tc.hop1 || hops[1].Kind != tc.script[2].kind {
					t.Errorf("hops %+v, want hop 1 %s", hops, tc.hop1)
				}
				if wait != tc.wait {
					t.Errorf("wait %v, want %v", wait, tc.wait)
				}
				if took < tc.min || took > tc.max {
					t.Errorf("took %v, want %v..%v", took, tc.min, tc.max)
				}
			})
		})
	}
}

// An answer the kernel queued while the goroutine that should read it had
// not run counts: probeTTL's last look returns it after ctx ended, and
// trace takes it.
func TestTraceTakesAnswersFromTheLastLook(t *testing.T) {
	queued := func(ctx context.Context, _ netip.AddrPort, ttl int, sent func()) (Hop, error) {
		sent()
		<-ctx.Done()
		if ttl == 1 {
			return Hop{Kind: TimeExceeded, Addr: netip.MustParseAddr("10.0.0.4"), RTT: time.Millisecond}, nil
		}
		return Hop{Kind: Silent}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	hops, _, err := trace(ctx, netip.MustParseAddrPort("203.0.113.7:443"), 4, queued)
	if err != nil || hops[0].Kind != TimeExceeded || hops[0].TTL != 1 || hops[1].Kind != Silent {
		t.Fatalf("hops %+v %v", hops, err)
	}
}
