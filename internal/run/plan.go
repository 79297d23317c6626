package run

import (
	"context"
	"net/netip"
	"slices"

	azjudge "github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/probes/egress"
	"github.com/apimprobe/apimprobe/probes/pathtrace"
	"github.com/apimprobe/apimprobe/resolver"
)

// world is what the check list is built against. For `run` it is the
// network and what discovery found; for `plan` it is nothing at all: no
// resolver, no snapshot, only the flags. One builder serves both, so that
// plan lists exactly what run would check.
type world struct {
	cfg   Config
	phase probes.DeployPhase
	// region and subnet as known when planning (flag, then IMDS).
	region, subnet string
	// set is nil for plan: nothing is asked.
	set *resolver.Set
	// expect is the one owner of what DNS answers are judged against.
	expect resolver.Expecter
	// snapshots gives the analysis checks Resource Manager's view:
	// snapshot.Static{} for plan.
	snapshots snapshot.Source
	// tagPrefixes gives a service tag's prefixes, waiting for Resource
	// Manager's list when it is being read; nil for plan.
	tagPrefixes func(ctx context.Context, tag string) []netip.Prefix
	// vmPublicIP is the VM's public address, when known (IMDS).
	vmPublicIP string
	// instance gives the instance's own view (NetworkStatus, its
	// dependency list) as Resource Manager shows it, waiting for its
	// reads; nil for plan. runCtx bounds the summaries' wait for it, and
	// instRun carries what instance.dependencies saw to them.
	instance snapshot.InstanceViewSource
	runCtx   context.Context
	instRun  *instanceRun
	// egress carries route.egress-ip's result to the route analyses; nil
	// for plan.
	egress *egressSeen
	// backends lists the instance's backends as Resource Manager shows
	// them, waiting for the reads; nil for plan. discovered carries the
	// checks backend.discovered made of them to the report.
	backends   snapshot.BackendsSource
	discovered *discovered
	// connectivity asks the instance to probe a destination
	// (--instance-probe); nil for plan. iprobe carries its answers to the
	// report.
	connectivity Connectivity
	iprobe       *instanceProbes
}

// offline is the world of `plan`: the flags alone. --phase auto cannot be
// decided without asking DNS, so the inbound checks are listed (post).
func offline(cfg Config) world {
	phase := cfg.Phase
	if phase == probes.DeployAuto {
		phase = probes.DeployPost
	}
	return world{
		cfg: cfg, phase: phase, region: cfg.Region, subnet: cfg.Subnet,
		expect:    resolver.Fixed{Mode: cfg.Mode, Phase: phase},
		snapshots: snapshot.Static{},
	}
}

// inputs are the catalogue's inputs in this world.
func (w world) inputs() catalog.Inputs {
	return catalog.Inputs{
		Service: w.cfg.Service, Region: w.region, StorageAccount: w.cfg.StorageAccount,
		SQLServer: w.cfg.SQLServer, KeyVault: w.cfg.KeyVault, EventHub: w.cfg.EventHub,
	}
}

// checks builds the run's whole check list, in the order the runner starts
// them: the DNS checks first (the prefetch cannot warm their SOA and canary
// questions), the path traces and the egress check, the catalogue's
// dependencies, the Resource Manager analyses and the summaries of the
// others' outcomes. --only and --skip select from it.
func (w world) checks() ([]probes.Check, error) {
	names, err := resolver.InstanceNames(w.cfg.Service, w.cfg.Cloud, w.cfg.Mode, w.region)
	if err != nil {
		return nil, err
	}
	suffix, err := resolver.APIMSuffix(w.cfg.Cloud)
	if err != nil {
		return nil, err
	}
	checks := resolver.Checks(w.set, names, suffix, w.expect)

	deps, err := catalog.Plan(catalog.Options{
		Cloud: w.cfg.Cloud, Mode: w.cfg.Mode, Phase: w.phase, Inputs: w.inputs(),
		Resolver: w.resolver(), RootCAs: w.cfg.RootCAs, AzureRoots: w.cfg.AzureRoots,
	})
	if err != nil {
		return nil, err
	}
	// The path traces and the egress echo start before the dependencies:
	// a trace toward a silent destination lasts its whole limit, and a
	// check that starts in the second wave ends that much later.
	checks = append(checks, w.pathChecks(deps)...)
	checks = append(checks, w.egressCheck())
	checks = append(checks, deps...)
	checks = append(checks, w.backendChecks()...)
	az := w.cfg.Azure
	jc := azjudge.Config{Mode: w.cfg.Mode, ModeAuto: az.ModeAuto, Phase: w.phase, Units: w.cfg.Units, Service: w.cfg.Service,
		APIMSubnet: az.APIMSubnet, Region: w.region}
	if w.egress != nil {
		jc.Wire = w.egress
	}
	checks = append(checks, azjudge.Checks(w.snapshots, jc)...)
	checks = append(checks, w.instanceChecks(deps)...)
	checks = append(checks, w.instanceProbeCheck(checks)...)
	checks = append(checks, w.interceptionCheck())
	selected := catalog.Select(checks, w.cfg.Only, w.cfg.Skip)
	if !slices.ContainsFunc(selected, func(c probes.Check) bool { return c.Role == probes.RoleBackendDiscovery }) {
		w.discovered.finish() // instance.probe must not wait for it
	}
	if len(selected) == 0 {
		return nil, noChecks(checks, w.cfg.Only, w.cfg.Skip)
	}
	if !slices.ContainsFunc(selected, func(c probes.Check) bool { return c.ID == egress.CheckID && c.Probe != nil }) {
		w.egress.settle(nil) // it will not run: nothing to wait for
	}
	return selected, nil
}

// resolver is the set as the probes' Resolver; nil (the system's) for plan,
// whose probes never run.
func (w world) resolver() probes.Resolver {
	if w.set == nil {
		return nil
	}
	return w.set
}

// pathChecks traces the path toward one required outbound dependency of
// each family (storage, sql, keyvault, monitor, certs, infra) that is
// probed over TCP, to find a virtual appliance in it; the members of a
// family share their route. The traces are TCP SYNs, so a UDP dependency
// (NTP) is never the one traced.
func (w world) pathChecks(deps []probes.Check) []probes.Check {
	var trace []pathtrace.Dependency
	seen := map[probes.Dependency]bool{}
	for _, ch := range deps {
		if !ch.Required || ch.Probe == nil || ch.Area != probes.AreaOutbound || ch.Dependency == probes.DepNone ||
			ch.Target.Host == "" || ch.Protocol != probes.ProtoTCP {
			continue
		}
		if seen[ch.Dependency] {
			continue
		}
		seen[ch.Dependency] = true
		trace = append(trace, pathtrace.Dependency{Family: ch.Dependency, Host: ch.Target.Host, Port: ch.Target.Port, Required: true})
	}
	var opts pathtrace.Options
	if p, err := netip.ParsePrefix(w.subnet); err == nil {
		opts.Local = []netip.Prefix{p.Masked()}
	}
	return pathtrace.NewChecks(trace, w.resolver(), opts)
}

// egressCheck asks the echo service where traffic leaves from. The
// AzureCloud prefixes may come from Resource Manager: they are waited for
// beside the echo, within the check's limit, and only when its answer needs
// them (a read that never ends must not keep the echo from being asked).
func (w world) egressCheck() probes.Check {
	cfg := egress.Config{
		EchoURL: w.cfg.EgressEchoURL, Off: w.cfg.NoEgress, Expected: w.cfg.ExpectEgress,
		Mode: w.cfg.Mode, Resolver: w.resolver(), RootCAs: w.cfg.RootCAs,
	}
	if a, err := netip.ParseAddr(w.vmPublicIP); err == nil {
		cfg.VMPublicIP = a
	}
	ch := egress.NewCheck(cfg)
	if ch.Probe == nil {
		return ch
	}
	probe := ch.Probe
	if w.tagPrefixes != nil {
		probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
			tags := make(chan []netip.Prefix, 1)
			go func() { tags <- w.tagPrefixes(ctx, "AzureCloud") }()
			cfg := cfg
			cfg.Tags = func() []netip.Prefix { return <-tags }
			return egress.NewCheck(cfg).Probe.Run(ctx)
		})
	}
	if w.egress != nil {
		inner := probe
		probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
			r := inner.Run(ctx)
			w.egress.settle(&r)
			return r
		})
	}
	ch.Probe = probe
	return ch
}

// interceptionCheck is tls.interception: a summary of every TLS outcome,
// made by the runner once the others have finished.
func (w world) interceptionCheck() probes.Check {
	c := InterceptionSummary(nil).Check
	c.Preset = nil
	c.Summary = func(outs []probes.Outcome) probes.Result {
		// The instance's dependency list is one check of many hosts: its
		// intercepted hosts are listed one by one.
		parts, _ := interceptedParts(w.instRun.get())
		return InterceptionSummary(append(slices.Clip(outs), parts...)).Result
	}
	return c
}
