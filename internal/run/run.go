// Package run owns one apimprobe run: it discovers the context (flags, the
// Instance Metadata Service, Resource Manager), builds the check list, runs
// the checks, analyses their outcomes and assembles the report. Everything
// flows one way, and `plan` is the same builder with the network switched
// off, so that plan lists exactly the checks run makes.
package run

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/state"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/resolver"
)

// Config is a run's input: the operator's flags, validated and typed.
// Cloud "" (no --cloud) takes the cloud the metadata service names, else
// public.
type Config struct {
	Service                             string
	Mode                                probes.Mode
	Phase                               probes.DeployPhase
	Cloud                               probes.Cloud
	Region, Subnet                      string
	StorageAccount, SQLServer, KeyVault string
	// EventHub is the user's Event Hubs namespace (--event-hub).
	EventHub string

	// ResolvConf is the VM's resolver configuration file; "" means
	// /etc/resolv.conf. DNSServers (--dns-server) replace its nameservers.
	ResolvConf string
	// SystemdResolvConf is where the servers behind a local stub resolver
	// (a loopback nameserver in ResolvConf) are read; "" means
	// systemd-resolved's /run/systemd/resolve/resolv.conf.
	SystemdResolvConf string
	DNSServers        []netip.AddrPort
	AzureDNS          netip.AddrPort

	EgressEchoURL string
	NoEgress      bool
	ExpectEgress  []netip.Prefix

	// RootCAs is the trust store (nil: the system's, SSL_CERT_FILE
	// honoured); AzureRoots the roots genuine Azure endpoints chain to.
	RootCAs, AzureRoots *x509.CertPool

	// Azure configures discovery; its flag overrides (region, subnet, the
	// instance's private IP) are the flags above.
	Azure azdiscover.Options
	// Units is --units, the scale units the subnet must hold (0: the
	// instance's capacity, else 1); only the judgements read it.
	Units int

	Timeout, Deadline time.Duration
	Concurrency       int
	Only, Skip        []string

	// Backends are the user's backends given with --backend, validated;
	// BackendRequired (--backend-required) makes their failures required.
	Backends        []catalog.Backend
	BackendRequired bool
	// InstanceProbe (--instance-probe) asks the instance to probe each
	// required dependency and backend from its own machines.
	InstanceProbe bool

	// Command is the command line as run, secrets removed, for the report.
	Command string
	// State is the --state file, opened (nil: none). Run applies it to the
	// report (changes, since); the caller saves it once the report is out.
	State *state.Store

	Tool report.Tool
	Log  zerolog.Logger
	// Progress, when set, gets a line saying which Resource Manager reads
	// the run is waiting for; the CLI passes standard error when it is a
	// terminal. Nothing of it reaches the report.
	Progress io.Writer
}

// DefaultResolvConf is where the VM's resolvers are read from.
const DefaultResolvConf = "/etc/resolv.conf"

// Plan returns the checks Run would make with the same configuration,
// sending nothing at all.
func Plan(cfg Config) ([]probes.Check, error) {
	if cfg.Cloud == "" {
		cfg.Cloud = probes.CloudPublic // plan asks no metadata service
	}
	if cfg.Mode == "" {
		// The instance's mode needs Resource Manager, which plan does not
		// ask: it lists what run would check were the instance internal.
		cfg.Mode, cfg.Azure.ModeAuto = probes.ModeInternal, true
	}
	return offline(cfg).checks()
}

// Run discovers, plans, probes, analyses and reports, within cfg.Deadline
// (plus a fraction of a second) whatever the network does. The error is a
// configuration the run could not start with; once the checks start, every
// failure is in the report.
//
// When the caller cancels ctx (a signal: see OnSignals), the run stops at
// once and the report is marked interrupted: it lists only the checks that
// had finished, nothing cut short is judged, and cfg.State is left alone.
func Run(parent context.Context, cfg Config) (*report.Report, error) {
	started := time.Now()
	ctx, cancel := context.WithTimeoutCause(parent, cfg.Deadline, probes.ErrRunDeadline)
	defer cancel()

	cfg, disc, modeSource, err := discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	known := disc.Context()
	f := &facts{mode: cfg.Mode, disc: disc, phase: cfg.Phase}
	set, err := resolverSet(cfg, f)
	if err != nil {
		return nil, err
	}
	instRun := &instanceRun{}
	w := world{
		cfg: cfg, region: known.Region, subnet: known.Subnet, set: set, expect: f,
		snapshots: disc, tagPrefixes: disc.TagPrefixes, vmPublicIP: known.VMPublicIP,
		instance: disc, runCtx: ctx, instRun: instRun, egress: newEgressSeen(),
		backends: disc, discovered: newDiscovered(), connectivity: disc, iprobe: &instanceProbes{},
	}
	checks, phaseSource, warm, err := w.plan(ctx, f)
	if err != nil {
		return nil, err
	}
	defer warm()
	cfg.Log.Info().Int("checks", len(checks)).Str("phase", string(w.phase)).Msg("running")

	outs, interrupted := probeAll(parent, ctx, &w, checks, started, disc.Pending)
	var snap *snapshot.Snapshot
	if !interrupted {
		snap = readInstance(ctx, outs, disc, instRun)
	}
	rep := &report.Report{
		SchemaVersion: report.SchemaVersion, Tool: cfg.Tool,
		StartedAt: started.UTC().Truncate(time.Millisecond),
	}
	rep.Context = reportContext(cfg, disc.Context(), set, w.phase, phaseSource)
	rep.Context.Sources["mode"] = modeSource
	rep.Context.Command = cfg.Command
	rep.FromOutcomes(outs)
	rep.DurationMS = time.Since(started).Milliseconds()
	if interrupted {
		rep.MarkInterrupted()
		cfg.Log.Info().Err(context.Cause(parent)).Int("finished", len(rep.Checks)).Msg("interrupted")
		rep.Clean()
		return rep, nil
	}
	judge(rep, cfg, outs, snap, instRun)
	logDone(cfg.Log, started, snap)
	return rep, nil
}

// logDone says, at debug level, how long after the run's start the
// analyses were done and the Resource Manager reads had ended (zerolog's
// timestamps are to the second): where the end of a run went.
func logDone(l zerolog.Logger, started time.Time, snap *snapshot.Snapshot) {
	e := l.Debug().Dur("after", time.Since(started))
	if snap != nil && snap.Enabled {
		e = e.Dur("arm_reads_after", snap.Duration).Int("arm_reads", len(snap.Reads))
	}
	e.Msg("analyses done")
}

// discover starts the discovery (the metadata service, Resource Manager)
// and settles what the run needs before its plan: the mode (without --mode
// the instance's own, within one check's limit) and the cloud (without
// --cloud the one the metadata service names). modeSource says where the
// mode came from.
func discover(ctx context.Context, cfg Config) (_ Config, disc *azdiscover.Discovery, modeSource string, err error) {
	// IMDS answers (or not) within its own second; Resource Manager reads go
	// on while the checks run, until the run's deadline.
	cfg.Azure.RunDeadline = cfg.Deadline
	cfg.Azure.ConnectTimeout = cfg.Timeout
	cfg.Azure.Cloud = cfg.Cloud
	disc, err = azdiscover.Discover(ctx, cfg.Azure)
	if err != nil {
		return cfg, nil, "", err
	}
	// Without --mode the mode is the instance's: the check list depends on
	// it, so it is settled (within one check's limit) before the plan.
	modeSource = azdiscover.SourceFlag
	if cfg.Mode == "" {
		cfg.Azure.ModeAuto = true
		mctx, mcancel := context.WithTimeout(ctx, cfg.Timeout)
		m, why := disc.InstanceMode(mctx)
		mcancel()
		if m != "" {
			cfg.Mode, modeSource = m, azdiscover.SourceARM
		} else {
			cfg.Mode, modeSource = probes.ModeInternal, "default"
			cfg.Log.Info().Str("why", why).Msg("the instance's mode is unknown: judged as internal (--mode sets it)")
		}
	}
	cfg.Azure.Mode = cfg.Mode
	known := disc.Context()
	// Without --cloud, the cloud the metadata service names (azEnvironment).
	if cfg.Cloud == "" {
		cfg.Cloud = cmp.Or(known.Cloud, probes.CloudPublic)
	}
	if msg := known.IMDSError; msg != "" {
		cfg.Log.Info().Str("imds", msg).Msg("no Instance Metadata Service: not on an Azure VM, or it is blocked")
	}
	return cfg, disc, modeSource, nil
}

// plan asks for every name the run may probe, decides the phase and
// returns the checks to run in it. warm waits for the names asked ahead.
func (w *world) plan(ctx context.Context, f *facts) (checks []probes.Check, phaseSource string, warm func(), err error) {
	// Ask for every name the run may probe (the post-deployment plan is the
	// widest) before deciding the phase, so that a silent resolver costs one
	// timeout for the phase decision and the probes together.
	w.phase = probes.DeployPost
	widest, err := w.checks()
	if err != nil {
		return nil, "", nil, err
	}
	warm = prefetch(ctx, w.set, widest, w.cfg.Timeout, w.cfg.Concurrency)
	phase, phaseSource := decidePhase(ctx, w.cfg, w.set)
	f.setPhase(phase)
	w.phase = phase
	// --phase post: the list built for the prefetch is the run's, built
	// with the same phase and facts (a second build was 600 KB and 2% of
	// a wire-only run's CPU). Another phase, or one decided by DNS, is
	// built anew.
	checks = widest
	if w.cfg.Phase != probes.DeployPost {
		if checks, err = w.checks(); err != nil {
			warm()
			return nil, "", nil, err
		}
	}
	return checks, phaseSource, warm, nil
}

// probeAll runs the checks until the run's deadline, saying on
// cfg.Progress which Resource Manager reads (pending) it waits for. When the caller
// cancels the run (parent), it keeps only the outcomes the interruption
// did not touch; otherwise the instance's discovered backends are added
// and the instance's own probes set beside this VM's results.
func probeAll(parent, ctx context.Context, w *world, checks []probes.Check, started time.Time, pending func() []azdiscover.PendingRead) (outs []probes.Outcome, interrupted bool) {
	cfg := w.cfg
	stopProgress := showProgress(cfg.Progress, pending, progressEvery, progressAfter)
	defer stopProgress()
	var cut cutChecks
	outs = probes.Run(ctx, checks, probes.RunOptions{
		Timeout: cfg.Timeout, Deadline: time.Until(started.Add(cfg.Deadline)), Concurrency: cfg.Concurrency,
		OnDone: func(o probes.Outcome) {
			if parent.Err() != nil {
				cut.add(o.Check.ID)
			}
			cfg.Log.Debug().Str("id", o.Check.ID).Str("status", string(o.Result.Status)).
				Str("reason", string(o.Result.Reason)).Dur("took", o.Result.Duration).Msg("check done")
		},
	})
	if parent.Err() != nil {
		return finishedBefore(outs, &cut), true
	}
	// The instance's backends that backend.discovered probed are checks of
	// their own.
	outs = append(outs, w.discovered.outcomes()...)
	annotateInstanceProbe(outs, w.iprobe)
	return outs, false
}

// readInstance sets the instance's side beside every check that matches
// its NetworkStatus, and this VM's NIC NSG beside the flows it decides;
// the reads finished while the checks ran, so it waits no longer.
func readInstance(ctx context.Context, outs []probes.Outcome, disc *azdiscover.Discovery, instRun *instanceRun) *snapshot.Snapshot {
	vctx, vcancel := context.WithTimeout(context.WithoutCancel(ctx), 50*time.Millisecond)
	annotateInstance(outs, disc.InstanceView(vctx))
	vcancel()
	// The analyses have waited for Resource Manager already: take what it
	// told without waiting again.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Millisecond)
	snap := disc.Wait(sctx)
	scancel()
	annotateNICNSG(outs, snap)
	annotateNICDeps(outs, snap, instRun)
	return snap
}

// judge completes a run's report that was not interrupted: the headline,
// the instance, the findings, and what changed since the --state file.
func judge(rep *report.Report, cfg Config, outs []probes.Outcome, snap *snapshot.Snapshot, instRun *instanceRun) {
	rep.Summary.Headline = Headline(outs)
	rep.Context.Instance = instanceOf(snap)
	// The instance's intercepted hosts go to the diagnosis one by one, when
	// interception is all that failed there: the inspection finding then
	// names them and explains the check. So do the hosts the NSG on this
	// VM's NIC denied, for its finding, when that is all that failed there.
	diag := outs
	if parts, all := interceptedParts(instRun.get()); all {
		diag = append(slices.Clip(outs), parts...)
	}
	if parts, all := nicParts(instRun.get()); all {
		diag = append(slices.Clip(diag), parts...)
	}
	rep.Findings = findings.Diagnose(findingsInput(cfg, rep.Context, diag, snap))
	if cfg.State != nil {
		cfg.State.Apply(rep)
	}
	rep.Clean()
}

// instanceOf is the instance as Resource Manager showed it, or nil.
func instanceOf(s *snapshot.Snapshot) *report.Instance {
	if s == nil || s.APIM == nil {
		return nil
	}
	a := s.APIM
	i := &report.Instance{ID: a.ID, SKU: a.SKU, Capacity: a.Capacity, Platform: a.Platform}
	if a.Location != "" {
		i.Locations = append(i.Locations, a.Location)
	}
	i.Locations = append(i.Locations, a.AdditionalLocations...)
	return i
}

// findingsInput gives the diagnosis the outcomes and the resource ids its
// fixes name.
func findingsInput(cfg Config, rc report.Context, outs []probes.Outcome, s *snapshot.Snapshot) findings.Input {
	in := findings.Input{Outcomes: outs, Context: rc}
	in.APIMSuffix, _ = resolver.APIMSuffix(cfg.Cloud)
	if s != nil && s.Subnet != nil {
		in.Azure = findings.Azure{SubnetID: s.Subnet.ID, RouteTableID: s.Subnet.RouteTableID, NSGID: s.Subnet.NSGID}
	}
	return in
}

// cutChecks collects the checks that ended after the caller cancelled the
// run: whatever they saw was the cancellation, not the network.
type cutChecks struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (c *cutChecks) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]bool{}
	}
	c.ids[id] = true
}

// finishedBefore keeps the outcomes the interruption did not touch: checks
// that finished before it, and preset results (skips decided from the
// inputs). Summary checks are dropped, since they would judge the others
// from an incomplete set.
func finishedBefore(outs []probes.Outcome, cut *cutChecks) []probes.Outcome {
	cut.mu.Lock()
	defer cut.mu.Unlock()
	kept := outs[:0:0]
	for _, o := range outs {
		if cut.ids[o.Check.ID] || o.Check.Summary != nil {
			continue
		}
		kept = append(kept, o)
	}
	return kept
}

// resolverSet builds the DNS comparison: the VM's resolvers (resolv.conf, or
// --dns-server instead) and Azure DNS, judged against the run's facts.
func resolverSet(cfg Config, expect resolver.Expecter) (*resolver.Set, error) {
	path := cfg.ResolvConf
	if path == "" {
		path = DefaultResolvConf
	}
	conf, err := resolver.LoadResolvConf(path)
	if err != nil {
		cfg.Log.Warn().Err(err).Msg("no usable resolv.conf: only the given DNS servers and Azure DNS are asked")
		conf = resolver.DefaultResolvConf()
	}
	if len(cfg.DNSServers) > 0 {
		conf.Servers = nil // --dns-server names the VNet's resolvers instead
	}
	// A loopback nameserver (systemd-resolved's 127.0.0.53) is a stub: the
	// VNet's servers it forwards to are asked beside it.
	up := resolver.FindUpstreams(conf, cfg.SystemdResolvConf)
	if up.Missing != "" {
		cfg.Log.Warn().Str("resolvers", up.Missing).Msg("only the local stub resolver is asked; --dns-server names the VNet's DNS servers")
	}
	set, err := resolver.New(resolver.Options{
		ResolvConf: &conf, DNSServers: cfg.DNSServers, Upstreams: up, AzureDNS: cfg.AzureDNS,
		Expect: expect, Budget: cfg.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("resolvers: %w", err)
	}
	return set, nil
}

// decidePhase settles --phase auto: post when the gateway's name resolves
// on any resolver, pre without a service name.
func decidePhase(ctx context.Context, cfg Config, set *resolver.Set) (probes.DeployPhase, string) {
	if cfg.Phase != probes.DeployAuto {
		return cfg.Phase, azdiscover.SourceFlag
	}
	if cfg.Service == "" {
		return probes.DeployPre, "auto"
	}
	suffix, _ := resolver.APIMSuffix(cfg.Cloud)
	lctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	phase, _ := resolver.DecidePhase(lctx, set, cfg.Service+"."+suffix)
	return phase, "auto"
}

// prefetch resolves every probed host name ahead of the checks, at most
// concurrency names at a time, each within one check timeout: a silent
// resolver costs one timeout rather than one per wave of checks, and the
// probes find the answers waiting. Names are asked once per run; the
// returned wait ends when every lookup has. The zone-scope check's target
// is a zone (azure-api.net) whose addresses nothing asks for: it asks the
// zone's SOA and a canary name, which a prefetch cannot know.
func prefetch(ctx context.Context, set *resolver.Set, checks []probes.Check, timeout time.Duration, concurrency int) (wait func()) {
	seen := map[string]bool{}
	var hosts []string
	for _, ch := range checks {
		host := ch.Target.Host
		if ch.Probe == nil || host == "" || seen[host] || !(ch.Kind.Dials() || ch.Kind == probes.KindDNS) || ch.Role == probes.RoleZoneScope {
			continue
		}
		if _, err := netip.ParseAddr(host); err == nil {
			continue
		}
		seen[host] = true
		hosts = append(hosts, host)
	}
	// At most concurrency lookers, each taking the next name not asked
	// yet: a goroutine per looker, not per name.
	var next atomic.Int64
	lookUp := func() {
		for {
			k := int(next.Add(1)) - 1
			if k >= len(hosts) {
				return
			}
			pctx, cancel := context.WithTimeout(ctx, timeout)
			set.LookupHost(pctx, hosts[k])
			cancel()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range min(max(concurrency, 1), len(hosts)) - 1 {
			wg.Go(lookUp)
		}
		lookUp()
		wg.Wait()
	}()
	return func() { <-done }
}

// reportContext is the report's context, filled once, from the discovered
// values and their sources.
func reportContext(cfg Config, d azdiscover.Context, set *resolver.Set, phase probes.DeployPhase, phaseSource string) report.Context {
	rc := report.Context{
		Cloud: cfg.Cloud, Mode: cfg.Mode, Service: cfg.Service, Phase: phase,
		Region: d.Region, Subnet: d.Subnet, SubscriptionID: d.SubscriptionID, ResourceGroup: d.ResourceGroup,
		VMPrivateIP: d.VMPrivateIP, VMPublicIP: d.VMPublicIP,
		InstancePrivateIP: d.InstancePrivateIP, InstancePublicIP: d.InstancePublicIP,
		Credential: d.Credential, Sources: map[string]string{"phase": phaseSource},
	}
	if h, err := os.Hostname(); err == nil {
		rc.Hostname = h
	}
	for k, v := range d.Sources {
		if k != "vm_name" && k != "vm_resource_id" {
			rc.Sources[k] = v
		}
	}
	for _, s := range set.Servers() {
		rc.Resolvers = append(rc.Resolvers, s.Addr.String())
		if rc.ResolverSources == nil {
			rc.ResolverSources = map[string]string{}
		}
		rc.ResolverSources[s.Addr.String()] = s.Source
	}
	rc.ResolverNote = set.UpstreamsMissing()
	return rc
}
