package resolver

import "context"

// Expecter is the one owner of what answers are judged against. A run
// builds it from the flags, the metadata service and Resource Manager, and
// hands the same one to the Set (which classifies every answer it gives the
// probes) and to the dns.* checks (which judge the instance's names), so the
// two never hold different copies.
type Expecter interface {
	// Known is the expectation as far as it is known now, without waiting.
	Known() Expectation
	// Settled waits, within ctx, for values still being discovered (the
	// instance's VIP from Resource Manager) and returns the expectation then,
	// with the values it had to do without when ctx ended first (nil when
	// nothing was missing).
	Settled(ctx context.Context) (Expectation, []string)
}

// Fixed is an Expecter whose values are all known from the start.
type Fixed Expectation

func (f Fixed) Known() Expectation { return Expectation(f) }

func (f Fixed) Settled(context.Context) (Expectation, []string) { return Expectation(f), nil }
