package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/probes"
)

// The user's backends (SPEC area backend). Those given with --backend are
// checks of their own from the start, in plan and run alike. The
// instance's own backends and API service URLs come from Resource Manager
// while the checks run: plan lists one check, backend.discovered, whose
// target says they are discovered at run time; in run it waits for the two
// lists, probes every host and port not given already (through the same
// runner, at most discoveredConcurrency at a time, each within --timeout),
// and each one becomes a backend.<host>-<port> check of the report.

const (
	idBackendsDiscovered = catalog.BackendArea + ".discovered"
	// discoveredConcurrency bounds the discovered backends probed at once,
	// inside one analysis check that holds no --concurrency slot.
	discoveredConcurrency = 4
	docBackends           = "github.com/Azure/azure-rest-api-specs apimanagement 2024-05-01 apimbackends.json, apimapis.json"
)

// discovered carries the outcomes of the backends that backend.discovered
// probed to the report, which lists them as checks of their own.
type discovered struct {
	mu   sync.Mutex
	outs []probes.Outcome
	// done is closed once backend.discovered has finished, or will not
	// run (a preset skip, not selected): instance.probe waits for it.
	once sync.Once
	done chan struct{}
}

func newDiscovered() *discovered { return &discovered{done: make(chan struct{})} }

// finish says that no more outcomes will come.
func (d *discovered) finish() {
	if d != nil && d.done != nil {
		d.once.Do(func() { close(d.done) })
	}
}

// finished is closed once no more outcomes will come.
func (d *discovered) finished() <-chan struct{} {
	if d == nil || d.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return d.done
}

func (d *discovered) set(outs []probes.Outcome) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.outs = outs
	d.mu.Unlock()
}

// outcomes are the discovered backends' outcomes (none for plan, or when
// the check did not get that far).
func (d *discovered) outcomes() []probes.Outcome {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.outs
}

// backendChecks are the backend.* checks of the backends given with
// --backend, probed from this VM as the dependencies are, and
// backend.discovered for the instance's own.
func (w world) backendChecks() []probes.Check {
	return append(catalog.BackendChecks(w.cfg.Backends, w.backendOptions()), w.discoveredCheck())
}

func (w world) backendOptions() catalog.BackendOptions {
	o := catalog.BackendOptions{Required: w.cfg.BackendRequired, Resolver: w.resolver(), RootCAs: w.cfg.RootCAs}
	if set := w.set; set != nil {
		o.PrivateLink = func(ctx context.Context, host string) string { return set.PrivateLink(ctx, host) }
	}
	return o
}

// discoveredCheck is backend.discovered.
func (w world) discoveredCheck() probes.Check {
	ch := probes.Check{
		ID: idBackendsDiscovered, Title: "The instance's own backends and API service URLs, probed from this VM",
		Category: catalog.CategoryBackends, Required: w.cfg.BackendRequired, Kind: probes.KindAnalysis,
		Target: probes.Subject("discovered at run time (the instance's backends and APIs)"),
		Source: docBackends, UntilDeadline: true, Facets: probes.Facets{Area: probes.AreaBackend, Role: probes.RoleBackendDiscovery, Phase: probes.DeployPost},
		Why: "the instance forwards requests to the URLs its backends and APIs name; each host and port becomes a check backend.<host>-<port> of its own",
	}
	switch {
	case w.phase == probes.DeployPre:
		r := probes.Skipf(probes.ReasonNotApplicable, "pre-deployment phase: the instance has no backends yet", "")
		ch.Preset = &r
		w.discovered.finish()
		return ch
	case w.cfg.Service == "":
		r := probes.Skipf(probes.ReasonNoData, "needs service", "Pass --service NAME (the API Management instance) to check its backends, or name them with --backend URL.")
		ch.Preset = &r
		w.discovered.finish()
		return ch
	}
	given := map[string]bool{}
	for _, b := range w.cfg.Backends {
		given[b.Key()] = true
	}
	ch.Probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
		defer w.discovered.finish()
		var v *snapshot.BackendsView
		if w.backends != nil {
			v = w.backends.Backends(ctx)
		} else {
			v = snapshot.Static{}.Backends(ctx)
		}
		if v == nil {
			if errors.Is(context.Cause(ctx), probes.ErrRunDeadline) {
				return probes.Failf(probes.ReasonDeadline, probes.PhaseAnalysis, "the run's --deadline ended the check before Resource Manager listed the instance's backends")
			}
		}
		if skip := backendsUnavailable(v, w.cfg.Service); skip != nil {
			return *skip
		}
		var found, notProbed []string
		var bs []catalog.Backend
		for _, u := range v.URLs {
			b, ok := catalog.DiscoveredBackend(u.URL, u.Source)
			b.NoChainCheck, b.NoNameCheck = u.NoChainCheck, u.NoNameCheck
			if !ok {
				notProbed = append(notProbed, u.Source+" ("+probes.Untrusted(probes.ScrubURL(u.URL), 80)+": not an http or https URL)")
				continue
			}
			found = append(found, u.Source)
			if b.Placeholder == "" && given[b.Key()] {
				continue // --backend names it: its own check probes it
			}
			bs = append(bs, b)
		}
		bs = catalog.DedupBackends(bs)
		if room := catalog.MaxBackends - len(w.cfg.Backends); len(bs) > room {
			for _, b := range bs[max(room, 0):] {
				notProbed = append(notProbed, strings.Join(b.Sources, ", ")+" (over the limit of "+fmt.Sprint(catalog.MaxBackends)+" backends)")
			}
			bs = bs[:max(room, 0)]
		}
		checks := catalog.Select(catalog.BackendChecks(bs, w.backendOptions()), w.cfg.Only, w.cfg.Skip)
		outs := w.probeDiscovered(ctx, checks)
		w.discovered.set(outs)
		return discoveredResult(v, found, notProbed, outs, len(w.cfg.Backends))
	})
	return ch
}

// probeDiscovered runs the discovered backends' checks through the runner,
// each within --timeout, until the run's deadline.
func (w world) probeDiscovered(ctx context.Context, checks []probes.Check) []probes.Outcome {
	if len(checks) == 0 {
		return nil
	}
	left := time.Hour
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	return probes.Run(ctx, checks, probes.RunOptions{Timeout: w.cfg.Timeout, Deadline: left, Concurrency: discoveredConcurrency})
}

// discoveredResult says what was read and what became of it; the probes'
// verdicts are their own checks'.
func discoveredResult(v *snapshot.BackendsView, found, notProbed []string, outs []probes.Outcome, given int) probes.Result {
	var ids []string
	for _, o := range outs {
		ids = append(ids, o.Check.ID)
	}
	msg := fmt.Sprintf("Resource Manager lists %d URLs in the instance's backends and APIs", len(v.URLs))
	switch {
	case len(ids) > 0:
		msg += fmt.Sprintf("; %d backends to check: %s", len(ids), strings.Join(ids, ", "))
	case len(v.URLs) > 0:
		msg += "; none to check beyond what --backend names"
	}
	if given > 0 {
		msg += fmt.Sprintf(" (%d given with --backend are checked on their own)", given)
	}
	if len(notProbed) > 0 {
		msg += "; not checked: " + strings.Join(notProbed, "; ")
	}
	r := probes.Passf(msg)
	r.Evidence = map[string]any{"urls": len(v.URLs), "checks": orEmpty(ids), "named_by": orEmpty(found)}
	if len(notProbed) > 0 {
		r.Evidence["not_checked"] = notProbed
	}
	return r
}

// backendsUnavailable is the skip when Resource Manager did not list the
// instance's backends and APIs (nil when at least one list was read).
func backendsUnavailable(v *snapshot.BackendsView, service string) *probes.Result {
	if v != nil && (v.Backends.OK() || v.APIs.OK()) {
		return nil
	}
	hint := fmt.Sprintf("Run `az apim backend list -g RG -n %s --query [].url` and `az apim api list -g RG -n %s --query [].serviceUrl`, and check each URL with --backend URL; or give this VM's identity Reader on the instance.",
		nonEmpty(service, "NAME"), nonEmpty(service, "NAME"))
	msg := "Resource Manager did not list the instance's backends"
	var r *snapshot.Read
	if v != nil {
		r = cmp.Or(v.Backends, v.APIs)
	}
	switch {
	case v == nil:
		msg += " before the check ended"
	case r == nil:
		msg += " (Resource Manager was not read: no token, --no-arm, or not on an Azure VM)"
	default:
		msg += ": " + r.Name + " read " + r.Status + ": " + r.Message
	}
	res := probes.Skipf(probes.ReasonNotObservable, msg, hint)
	res.NeedsARM = &probes.ARMNeed{Why: msg, Permission: "Microsoft.ApiManagement/service/backends/read", Command: hint, Disabled: r == nil}
	if r != nil {
		res.NeedsARM.Permission, res.NeedsARM.Command = r.Permission, r.CLI
		if r.Status == snapshot.ReadUnreachable {
			res.NeedsARM.Unreachable, res.NeedsARM.NoAnswer = cmp.Or(v.Endpoint, "its endpoint"), r.NoAnswer
		}
	}
	return &res
}

func orEmpty(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
