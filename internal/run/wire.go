package run

import (
	"context"
	"sync"

	azjudge "github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/probes"
)

// egressSeen carries route.egress-ip's result to the route analyses, which
// take the wire's word where the configured view cannot see a route learnt
// over BGP (azjudge.Wire). It is settled once: by the check's result, or
// by the plan leaving the check out (--skip, --no-egress), so that no
// analysis waits for a check that never runs.
type egressSeen struct {
	once sync.Once
	done chan struct{}
	res  *probes.Result
}

var _ azjudge.Wire = (*egressSeen)(nil)

func newEgressSeen() *egressSeen { return &egressSeen{done: make(chan struct{})} }

func (e *egressSeen) settle(r *probes.Result) {
	if e == nil {
		return
	}
	e.once.Do(func() {
		e.res = r
		close(e.done)
	})
}

// Egress implements azjudge.Wire.
func (e *egressSeen) Egress(ctx context.Context) *probes.Result {
	if e == nil {
		return nil
	}
	select {
	case <-e.done:
		return e.res
	case <-ctx.Done():
		return nil
	}
}
