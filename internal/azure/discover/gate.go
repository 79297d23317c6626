package discover

import (
	"context"
	"sync"
)

// A gate lets reads start before the read they follow has ended, without
// changing what the snapshot says: the reads that need this VM's NIC (its
// effective views) start beside the NIC read, and those of the subnet the
// classic modes judge beside the VM and NIC reads when the instance already
// names it; but the snapshot records them only as it did when they started
// after the read they follow. Until the gate is decided, what a gated read
// would record is held (the reads that follow it start at once all the
// same); kept, it is recorded in the order it came, and later ones at once;
// dropped, it is thrown away and the reads still running are cut short (the
// read that decides records them as not made, as before). Neither the
// report nor the statuses can tell a gated read from one started late; only
// the end of the reads comes sooner.
type gate struct {
	mu     sync.Mutex
	state  gateState
	held   []func()
	apply  func([]func()) // records what was held, under the session's lock
	cancel context.CancelFunc
}

type gateState int

const (
	gateOpen gateState = iota // undecided: records are held
	gateKept
	gateDropped
)

// gated is a copy of the session whose records are held at a new gate, and
// the context its reads run in (cut when the gate drops them).
func (s *armSession) gated(ctx context.Context) (*armSession, context.Context, *gate) {
	gctx, cancel := context.WithCancel(ctx)
	g := &gate{cancel: cancel, apply: func(fs []func()) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, f := range fs {
			f()
		}
		if len(fs) > 0 && s.changed != nil {
			s.changed()
		}
	}}
	c := *s
	c.gate = g
	return &c, gctx, g
}

// hold takes record while the gate is undecided, throws it away once it
// dropped its reads, and reports whether it did either: false means record
// it now. A nil gate holds nothing. The session's lock must not be held.
func (g *gate) hold(record func()) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case gateOpen:
		g.held = append(g.held, record)
		return true
	case gateDropped:
		return true
	}
	return false
}

// decide keeps or drops the gate's reads; only the first call counts. A nil
// gate has nothing to decide.
func (g *gate) decide(keep bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.state != gateOpen {
		g.mu.Unlock()
		return
	}
	held := g.held
	g.held = nil
	g.state = gateDropped
	if keep {
		g.state = gateKept
		// Under the gate's lock: a record that comes meanwhile waits, and
		// follows these.
		g.apply(held)
	}
	g.mu.Unlock()
	if !keep {
		g.cancel()
	}
}

// dropped says whether the gate dropped its reads (so none need follow).
func (g *gate) dropped() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == gateDropped
}

// release frees the gate's context once its reads are done.
func (g *gate) release() {
	if g != nil {
		g.cancel()
	}
}
