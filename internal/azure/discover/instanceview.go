package discover

import (
	"cmp"
	"context"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/instanceview"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The instance's own view is read by instanceview over the session; these
// are its hooks into the session's snapshot, and the Discovery's waits.

func (s *armSession) readInstanceView(ctx context.Context, _ *imds.Instance) {
	instanceview.ReadInstanceView(ctx, s)
}

func (s *armSession) readBackends(ctx context.Context, _ *imds.Instance) {
	instanceview.ReadBackends(ctx, s)
}

// Begin, Settle, Finish, Instance and Service are instanceview.Session's.
func (s *armSession) Begin(name string) time.Time { return s.begin(name) }

func (s *armSession) Settle(ctx context.Context, r *snapshot.Read, started time.Time, err error) {
	s.settle(ctx, r, started, err)
}

func (s *armSession) Finish(r *snapshot.Read, store func(*snapshot.Snapshot)) {
	s.finish(r, func() {
		if store != nil {
			store(s.snap)
		}
	})
}

func (s *armSession) Instance() (*snapshot.APIMInfo, *snapshot.Read) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.APIM, s.snap.Reads[snapshot.ReadAPIM]
}

func (s *armSession) Service() string { return s.o.Service }

var _ instanceview.Session = (*armSession)(nil)

// InstanceView blocks until both reads of the instance's own view have
// finished (or every read has), and returns them; nil when ctx ended first.
func (d *Discovery) InstanceView(ctx context.Context) *snapshot.InstanceView {
	if !d.waitRead(ctx, snapshot.ReadNetworkStatus) || !d.waitRead(ctx, snapshot.ReadDependencies) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.InstanceView()
}

var (
	_ snapshot.InstanceViewSource = (*Discovery)(nil)
	_ snapshot.InstanceViewSource = snapshot.Static{}
)

// Backends blocks until both reads of the instance's backends have
// finished (or every read has), and returns them; nil when ctx ended first.
func (d *Discovery) Backends(ctx context.Context) *snapshot.BackendsView {
	if !d.waitRead(ctx, snapshot.ReadBackends) || !d.waitRead(ctx, snapshot.ReadAPIs) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.BackendsView()
}

var (
	_ snapshot.BackendsSource = (*Discovery)(nil)
	_ snapshot.BackendsSource = snapshot.Static{}
)

// ConnectivityCheck asks the instance to probe req from its primary
// region, within ctx. It waits for the instance's resource to have been
// read; without Resource Manager, or without the instance, the answer's
// Failure says why.
func (d *Discovery) ConnectivityCheck(ctx context.Context, req instanceview.ConnectivityRequest) instanceview.Connectivity {
	start := time.Now()
	fail := func(status, msg string) instanceview.Connectivity {
		r := instanceview.NewConnectivityRead("")
		r.Status, r.Message, r.Duration = status, msg, time.Since(start)
		return instanceview.Connectivity{Failure: r, Took: r.Duration}
	}
	if !d.WaitInstance(ctx) {
		return fail(snapshot.ReadTimeout, "the instance's resource was not read before the check ended")
	}
	d.mu.Lock()
	sess, a, apimRead, why := d.actions, d.live.APIM, d.live.Reads[snapshot.ReadAPIM], d.live.Why
	d.mu.Unlock()
	switch {
	case sess == nil:
		return fail(snapshot.ReadNotTried, "Resource Manager is not used: "+cmp.Or(why, "no token"))
	case a == nil || a.ID == "":
		msg := "the instance's resource could not be read"
		if apimRead != nil && apimRead.Message != "" {
			msg += " (" + apimRead.Message + ")"
		}
		return fail(snapshot.ReadNotTried, msg)
	}
	c := instanceview.Check(ctx, sess, a, req)
	c.Took = time.Since(start)
	return c
}
