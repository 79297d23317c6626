package run

import (
	"context"

	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/probes"
)

// backendChecks are the backend.* checks of the backends given with
// --backend, probed from this VM as the dependencies are.
func (w world) backendChecks() []probes.Check {
	return catalog.BackendChecks(w.cfg.Backends, w.backendOptions())
}

func (w world) backendOptions() catalog.BackendOptions {
	o := catalog.BackendOptions{Required: w.cfg.BackendRequired, Resolver: w.resolver(), RootCAs: w.cfg.RootCAs}
	if set := w.set; set != nil {
		o.PrivateLink = func(ctx context.Context, host string) string { return set.PrivateLink(ctx, host) }
	}
	return o
}
