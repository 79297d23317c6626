// Command apimprobe tells, with evidence, whether Azure API Management can
// work from the subnet it runs in, and what exactly must change. This file is
// wiring only: flags in, a plan and a report out.
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/apimprobe/apimprobe/internal/azure/azurectx"
	"github.com/apimprobe/apimprobe/internal/azureroots"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/report"
	apimrun "github.com/apimprobe/apimprobe/internal/run"
	"github.com/apimprobe/apimprobe/output"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/probes/egress"
	"github.com/apimprobe/apimprobe/probes/pathtrace"
	"github.com/apimprobe/apimprobe/resolver"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `apimprobe tells whether Azure API Management can work from this subnet.

Usage:
  apimprobe run [flags]      probe every dependency and report (exit 0 ready, 1 blocked, 2 usage)
  apimprobe plan [flags]     list the checks run would make, without sending a packet
  apimprobe version          version, commit and Go version

Run 'apimprobe COMMAND --help' for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run", "plan":
		return command(args[0], args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "apimprobe: unknown command %q (want run, plan or version)\n", args[0])
	return 2
}

func versionLine() string {
	v, c := version, commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("apimprobe %s (commit %s, %s %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func command(name string, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := newFlagSet(name, &c)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: apimprobe %s [flags]\n\nFlags:\n%s", name, fs.FlagUsages())
			return 0
		}
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apimprobe %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { c.set[f.Name] = true })
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	azOpts := c.azureOptions()
	if err := azurectx.Validate(&azOpts); err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	specs, err := outputSpecs(c.outputs, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe %s: %v\n", name, err)
		return 2
	}
	log := newLogger(c, stderr)

	if name == "plan" {
		return plan(c, azOpts, specs, stdout, stderr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, code := probe(ctx, c, azOpts, log)
	if rep == nil {
		return code
	}
	opts := output.Options{Color: colorFor(stdout), Width: termWidth(stdout)}
	if err := output.WriteAll(specs, rep, stdout, opts); err != nil {
		fmt.Fprintf(stderr, "apimprobe run: writing the report: %v\n", err)
		return 2
	}
	return rep.ExitCode(c.strict)
}

// probe discovers the context, plans, runs, and builds the report.
func probe(ctx context.Context, c config, azOpts azurectx.Options, log zerolog.Logger) (*report.Report, int) {
	started := time.Now()
	// One clock for the whole run: discovery and the checks share --deadline.
	ctx, cancel := context.WithTimeoutCause(ctx, c.deadline, probes.ErrRunDeadline)
	defer cancel()

	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "apimprobe", Version: version, Commit: commitOrEmpty()},
		StartedAt:     started.UTC().Truncate(time.Millisecond),
	}
	rc := &rep.Context
	rc.Cloud, rc.Mode, rc.Service = c.cloud, c.mode, c.service
	rc.Sources = map[string]string{}
	if h, err := os.Hostname(); err == nil {
		rc.Hostname = h
	}
	// IMDS answers (or not) within its own second; Resource Manager reads go
	// on in the background while the probes run.
	disc, err := azurectx.Discover(ctx, azOpts)
	if err != nil {
		log.Error().Err(err).Msg("discovery")
		return nil, 2
	}
	fillContext(rc, disc.Context())
	if msg := disc.Context().IMDSError; msg != "" {
		log.Info().Str("imds", msg).Msg("no Instance Metadata Service: not on an Azure VM, or it is blocked")
	}

	set, exp, err := resolverSet(c, rc, log)
	if err != nil {
		log.Error().Err(err).Msg("resolvers")
		return nil, 2
	}
	for _, s := range set.Servers() {
		rc.Resolvers = append(rc.Resolvers, s.Addr.String())
	}
	// Ask for every name the run may probe (the post-deployment plan is the
	// widest) before deciding the phase, so that a silent resolver costs one
	// timeout for the phase decision and the probes together.
	inputs := catalog.Inputs{
		Service: c.service, Region: rc.Region, StorageAccount: c.storageAccount,
		SQLServer: c.sqlServer, KeyVault: c.keyVault,
	}
	widest, err := catalog.Plan(catalog.Options{Cloud: c.cloud, Mode: c.mode, Phase: "post", Inputs: inputs})
	if err != nil {
		log.Error().Err(err).Msg("planning failed")
		return nil, 2
	}
	prefetched := prefetch(ctx, set, catalog.Select(widest, c.only, c.skip), c.timeout)
	defer prefetched.Wait()

	rc.Phase = decidePhase(ctx, c, set, rc)
	exp.Phase = rc.Phase

	roots, err := azureRoots(c)
	if err != nil {
		log.Error().Err(err).Msg("--azure-roots")
		return nil, 2
	}
	checks, err := catalog.Plan(catalog.Options{Cloud: c.cloud, Mode: c.mode, Phase: rc.Phase, Inputs: inputs, Resolver: set, AzureRoots: roots})
	if err != nil {
		log.Error().Err(err).Msg("planning failed")
		return nil, 2
	}
	dnsChecks, err := dnsChecks(set, c, rc.Region, exp)
	if err != nil {
		log.Error().Err(err).Msg("planning failed")
		return nil, 2
	}
	// DNS checks go first: the runner starts checks in this order, and the
	// name comparisons (SOA, canary) are the ones the prefetch cannot warm.
	checks = append(dnsChecks, checks...)
	checks = append(checks, pathChecks(checks, set, rc.Subnet)...)
	checks = append(checks, egressCheck(c, disc, set, rc.VMPublicIP))
	azOpts.Phase, azOpts.Region = rc.Phase, rc.Region
	checks = append(checks, azurectx.Checks(disc, azOpts)...)
	checks = catalog.Select(checks, c.only, c.skip)
	// The names only the final plan has (the egress echo, the DNS checks'
	// names) join the prefetch; names already asked are not asked again.
	prefetchedMore := prefetch(ctx, set, checks, c.timeout)
	defer prefetchedMore.Wait()
	log.Info().Int("checks", len(checks)).Str("phase", rc.Phase).Msg("running")

	remaining := time.Until(started.Add(c.deadline))
	outs := probes.Run(ctx, checks, probes.RunOptions{
		Timeout: c.timeout, Deadline: remaining, Concurrency: c.concurrency,
		OnDone: func(o probes.Outcome) {
			log.Debug().Str("id", o.Check.ID).Str("status", string(o.Result.Status)).
				Str("reason", string(o.Result.Reason)).Dur("took", o.Result.Duration).Msg("check done")
		},
	})
	// The interception summary and the headline read every TLS outcome.
	if sum := apimrun.InterceptionSummary(outs); len(catalog.Select([]probes.Check{sum.Check}, c.only, c.skip)) == 1 {
		outs = append(outs, sum)
	}
	rep.FromOutcomes(outs)
	rep.Summary.Headline = apimrun.Headline(outs)
	// Resource Manager may have told more while the checks ran.
	fillContext(rc, disc.Context())
	rep.DurationMS = time.Since(started).Milliseconds()
	return rep, 0
}

// fillContext copies discovered values (flags, IMDS, ARM) into the report's
// context with their sources; unknown values stay out.
func fillContext(rc *report.Context, d azurectx.Context) {
	for _, v := range []struct {
		key, val string
		dst      *string
	}{
		{"region", d.Region, &rc.Region},
		{"subnet", d.Subnet, &rc.Subnet},
		{"subscription_id", d.SubscriptionID, &rc.SubscriptionID},
		{"resource_group", d.ResourceGroup, &rc.ResourceGroup},
		{"vm_private_ip", d.VMPrivateIP, &rc.VMPrivateIP},
		{"vm_public_ip", d.VMPublicIP, &rc.VMPublicIP},
		{"instance_private_ip", d.InstancePrivateIP, &rc.InstancePrivateIP},
		{"instance_public_ip", d.InstancePublicIP, &rc.InstancePublicIP},
	} {
		if v.val != "" {
			*v.dst = v.val
			rc.Sources[v.key] = d.Sources[v.key]
		}
	}
	if d.Credential != "" {
		rc.Credential = d.Credential
	}
}

// azureRoots is the set of roots genuine Azure endpoints chain to.
func azureRoots(c config) (*x509.CertPool, error) {
	if c.azureRootsFile == "" {
		return azureroots.Default(), nil
	}
	return azureroots.Load(c.azureRootsFile)
}

// pathChecks traces the path toward one required outbound dependency of each
// family (storage, sql, keyvault, monitor, certs) that is probed, to find a
// virtual appliance in it; the members of a family share their route.
func pathChecks(checks []probes.Check, set *resolver.Set, subnet string) []probes.Check {
	var deps []pathtrace.Dependency
	seen := map[string]bool{}
	for _, ch := range checks {
		if !ch.Required || ch.Probe == nil || !strings.HasPrefix(ch.ID, "outbound.") {
			continue
		}
		family := strings.SplitN(strings.TrimPrefix(ch.ID, "outbound."), ".", 2)[0]
		host, port := targetHostPort(ch.Target)
		if host == "" || seen[family] {
			continue
		}
		seen[family] = true
		deps = append(deps, pathtrace.Dependency{ID: family, Host: host, Port: port, Required: true})
	}
	var opts pathtrace.Options
	if p, err := netip.ParsePrefix(subnet); err == nil {
		opts.Local = []netip.Prefix{p.Masked()}
	}
	return pathtrace.NewChecks(deps, set, opts)
}

// egressCheck asks the echo service where traffic leaves from. The AzureCloud
// prefixes may come from Resource Manager, so they are collected inside the
// probe, while the other checks run.
func egressCheck(c config, disc *azurectx.Discovery, set *resolver.Set, vmPublicIP string) probes.Check {
	cfg := egress.Config{EchoURL: c.egressEchoURL, Off: c.noEgress, Expected: c.expectEgress, Mode: c.mode, Resolver: set}
	if a, err := netip.ParseAddr(vmPublicIP); err == nil {
		cfg.VMPublicIP = a
	}
	ch := egress.NewCheck(cfg)
	if ch.Probe == nil {
		return ch
	}
	ch.Probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
		cfg := cfg
		cfg.TagPrefixes = disc.TagPrefixes(ctx, "AzureCloud")
		return egress.NewCheck(cfg).Probe.Run(ctx)
	})
	return ch
}

// resolverSet builds the DNS comparison: the VM's resolvers (resolv.conf,
// or --dns-server) and Azure DNS, judged against what is known of the
// subnet and the instance's VIP.
func resolverSet(c config, rc *report.Context, log zerolog.Logger) (*resolver.Set, resolver.Expectation, error) {
	exp := resolver.Expectation{Mode: c.mode, Phase: c.phase}
	if p, err := resolver.ParseSubnet(rc.Subnet); err == nil {
		exp.Subnet = p
	}
	if a, err := netip.ParseAddr(rc.InstancePrivateIP); err == nil {
		exp.PrivateIP = a
	}
	if a, err := netip.ParseAddr(rc.InstancePublicIP); err == nil {
		exp.PublicIP = a
	}
	conf, err := resolver.LoadResolvConf(resolvConfPath)
	if err != nil {
		log.Warn().Err(err).Msg("no usable resolv.conf: only the given DNS servers and Azure DNS are asked")
		conf = resolver.DefaultResolvConf()
	}
	if len(c.dnsAddrs) > 0 {
		conf.Servers = nil // --dns-server names the VNet's resolvers instead
	}
	set, err := resolver.New(resolver.Options{ResolvConf: &conf, DNSServers: c.dnsAddrs, AzureDNS: c.azureDNSAddr, Expect: exp, Budget: c.timeout})
	return set, exp, err
}

const resolvConfPath = "/etc/resolv.conf"

// decidePhase settles --phase auto: post when the gateway name resolves on
// any resolver.
func decidePhase(ctx context.Context, c config, set *resolver.Set, rc *report.Context) string {
	if c.phase != "auto" {
		rc.Sources["phase"] = "flag"
		return c.phase
	}
	rc.Sources["phase"] = "auto"
	if c.service == "" {
		return "pre"
	}
	suffix, _ := resolver.APIMSuffix(c.cloud)
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	phase, _ := resolver.DecidePhase(lctx, set, c.service+"."+suffix)
	return phase
}

// dnsChecks builds the dns.* checks of the instance's names (set nil: for
// plan, nothing is asked).
func dnsChecks(set *resolver.Set, c config, region string, exp resolver.Expectation) ([]probes.Check, error) {
	names, err := resolver.InstanceNames(c.service, c.cloud, c.mode, region)
	if err != nil {
		return nil, err
	}
	suffix, err := resolver.APIMSuffix(c.cloud)
	if err != nil {
		return nil, err
	}
	return resolver.Checks(set, names, suffix, exp), nil
}

// prefetch resolves every probed host name at once, outside the checks'
// concurrency bound, each within one check timeout (the returned group ends
// by then): a silent resolver costs one timeout, not one per wave of checks,
// and the probes find the answers waiting.
func prefetch(ctx context.Context, set *resolver.Set, checks []probes.Check, timeout time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	seen := map[string]bool{}
	for _, ch := range checks {
		if ch.Probe == nil || (ch.Kind != "tcp" && ch.Kind != "tls" && ch.Kind != "http" && ch.Kind != "dns" && ch.Kind != "path") {
			continue
		}
		host := targetHost(ch.Target)
		if host == "" || seen[host] {
			continue
		}
		if _, err := netip.ParseAddr(host); err == nil {
			continue
		}
		seen[host] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			set.LookupHost(pctx, host)
		}()
	}
	return &wg
}

// targetHostPort takes host and port out of "host:port" or a URL.
func targetHostPort(target string) (string, int) {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[u.Scheme]
		}
		return u.Hostname(), port
	}
	if h, p, err := net.SplitHostPort(target); err == nil {
		port, _ := strconv.Atoi(p)
		return h, port
	}
	return "", 0
}

// targetHost takes the host out of "host:port" or a URL.
func targetHost(target string) string {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(target); err == nil {
		return h
	}
	if strings.Contains(target, ".") && !strings.ContainsAny(target, " /:") {
		return target // a bare host name (dns checks)
	}
	return ""
}

func commitOrEmpty() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

func plan(c config, azOpts azurectx.Options, specs []output.Spec, stdout, stderr io.Writer) int {
	phase := c.phase
	if phase == "auto" {
		// plan sends nothing, so it cannot tell; inbound checks are listed.
		phase = "post"
	}
	checks, err := catalog.Plan(catalog.Options{
		Cloud: c.cloud, Mode: c.mode, Phase: phase,
		Inputs: catalog.Inputs{Service: c.service, Region: c.region, StorageAccount: c.storageAccount,
			SQLServer: c.sqlServer, KeyVault: c.keyVault},
	})
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe plan: %v\n", err)
		return 2
	}
	exp := resolver.Expectation{Mode: c.mode, Phase: phase}
	dns, err := dnsChecks(nil, c, c.region, exp)
	if err != nil {
		fmt.Fprintf(stderr, "apimprobe plan: %v\n", err)
		return 2
	}
	checks = append(dns, checks...)
	checks = append(checks, pathChecks(checks, nil, c.subnet)...)
	checks = append(checks, egress.NewCheck(egress.Config{EchoURL: c.egressEchoURL, Off: c.noEgress, Expected: c.expectEgress, Mode: c.mode}))
	azOpts.Phase = phase
	// Static{}: no snapshot, nothing sent; the checks are listed as planned.
	checks = append(checks, azurectx.Checks(azurectx.Static{}, azOpts)...)
	checks = catalog.Select(checks, c.only, c.skip)
	for _, sp := range specs {
		if !slices.Contains(output.PlanFormats(), sp.Format) {
			fmt.Fprintf(stderr, "apimprobe plan: -o %s: plan prints %s\n", sp.Format, strings.Join(output.PlanFormats(), ", "))
			return 2
		}
	}
	for _, sp := range specs {
		var buf bytes.Buffer
		w := io.Writer(&buf)
		opts := output.Options{}
		if sp.File == "" {
			w, opts = stdout, output.Options{Color: colorFor(stdout), Width: termWidth(stdout)}
		}
		if err := output.RenderPlan(w, checks, sp.Format, opts); err != nil {
			fmt.Fprintf(stderr, "apimprobe plan: %v\n", err)
			return 2
		}
		if sp.File != "" {
			if err := output.WriteFileAtomic(sp.File, buf.Bytes()); err != nil {
				fmt.Fprintf(stderr, "apimprobe plan: %v\n", err)
				return 2
			}
		}
	}
	return 0
}

func outputSpecs(raw []string, stdout io.Writer) ([]output.Spec, error) {
	if len(raw) == 0 {
		raw = []string{output.DefaultFormat(isTerminal(stdout))}
	}
	specs := make([]output.Spec, 0, len(raw))
	for _, s := range raw {
		sp, err := output.ParseSpec(s)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %v", s, err)
		}
		specs = append(specs, sp)
	}
	return specs, output.Validate(specs)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorFor: colour only on a terminal, and never when NO_COLOR is set.
func colorFor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return isTerminal(w)
}

func newLogger(c config, stderr io.Writer) zerolog.Logger {
	level, _ := zerolog.ParseLevel(c.logLevel)
	var w io.Writer = stderr
	if c.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, NoColor: !colorFor(stderr), TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			return cols
		}
	}
	return 0
}
