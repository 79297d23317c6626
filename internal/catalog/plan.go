package catalog

import (
	"crypto/x509"
	"fmt"
	"path"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Options select and parameterise the plan.
type Options struct {
	Cloud probes.Cloud
	Mode  probes.Mode
	// Phase is pre or post (auto is decided before planning).
	Phase probes.DeployPhase
	Inputs
	Resolver   probes.Resolver
	RootCAs    *x509.CertPool
	AzureRoots *x509.CertPool
}

// flagFor names the flag that supplies an input, for no-data hints.
var flagFor = map[Needs]string{
	NeedsStorageAccount: "--storage-account NAME (any storage account of yours in the region)",
	NeedsSQLServer:      "--sql-server NAME (any Azure SQL logical server of yours)",
	NeedsKeyVault:       "--key-vault NAME (any key vault of yours)",
	NeedsService:        "--service NAME (the API Management instance)",
	NeedsRegion:         "--region NAME (or run on an Azure VM so the metadata service tells it)",
	NeedsEventHub:       "--event-hub NAMESPACE (an Event Hubs namespace of yours, for the log-to-eventhub policy)",
}

// Plan turns the catalogue into checks for the given cloud, mode and phase.
// Endpoints that cannot be probed (an input missing, another mode, the
// pre-deployment phase) become checks with a preset skip that says why.
func Plan(o Options) ([]probes.Check, error) {
	c, ok := LookupCloud(o.Cloud)
	if !ok {
		return nil, fmt.Errorf("unknown cloud %q (want one of %s)", o.Cloud, probes.Join(probes.Clouds(), ", "))
	}
	var checks []probes.Check
	for _, e := range Endpoints(c, o.Inputs) {
		checks = append(checks, check(e, o))
	}
	return checks, nil
}

func check(e Endpoint, o Options) probes.Check {
	req, applies := e.Required[o.Mode]
	target := probes.HostPort(e.Host, e.Port)
	switch {
	case e.URL != "":
		target = probes.URLTarget(e.URL)
	case e.Host == "":
		target = probes.Subject(fmt.Sprintf("*:%d", e.Port)) // any destination, as a firewall rule writes it
	}
	title := e.Title
	if e.Legacy {
		title += " [legacy]"
	}
	ch := probes.Check{
		ID: e.ID, Title: title, Category: e.Category,
		Required: req, Kind: e.Kind, Target: target, Why: e.Why, Source: e.Source,
		Hint: hint(e, o.Region), Facets: facets(e),
	}
	switch {
	case !applies:
		ch.Required = false
		ch.Preset = skip(probes.ReasonNotApplicable, fmt.Sprintf("not a dependency in mode %s", o.Mode), "")
		return ch
	case e.Inbound && o.Phase == probes.DeployPre:
		ch.Required = false
		ch.Preset = skip(probes.ReasonNotApplicable, "pre-deployment phase: the instance does not exist yet", "")
		return ch
	case e.Unobservable != "":
		ch.Preset = skip(probes.ReasonNotObservable, e.Unobservable, unobservableHint(e, o.Region))
		return ch
	case e.Needs != NeedsNothing && strings.Contains(e.Host, "<"):
		ch.Preset = skip(probes.ReasonNoData, "needs "+string(e.Needs), "Pass "+flagFor[e.Needs]+" to check this dependency.")
		return ch
	}
	ch.Probe = probe(e, o, req)
	return ch
}

// facets are what the diagnosis reads of an endpoint's check.
func facets(e Endpoint) probes.Facets {
	f := probes.Facets{
		Area: probes.AreaOutbound, Dependency: e.Dependency, ServiceTag: e.ServiceTag,
		Protocol: probes.ProtocolOf(e.Kind), ResourceType: e.ResourceType,
	}
	if e.Inbound {
		f.Area, f.Phase = probes.AreaInbound, probes.DeployPost
	}
	return f
}

func skip(reason probes.Reason, msg, hint string) *probes.Result {
	r := probes.Skipf(reason, msg, hint)
	return &r
}

func probe(e Endpoint, o Options, required bool) probes.Probe {
	return e.Kind.Probe(probes.Endpoint{
		Host: e.Host, Port: e.Port, URL: e.URL, Resolver: o.Resolver, RootCAs: o.RootCAs,
		AzureRoots: azureRootsFor(e, o), InterceptIsWarn: !required, ReachOnly: e.ReachOnly,
		Expect: expectation(e),
	})
}

// azureRootsFor: the instance's own endpoints carry the customer's
// certificates, which need not chain to an Azure root.
func azureRootsFor(e Endpoint, o Options) *x509.CertPool {
	if e.Inbound || e.ReachOnly {
		return nil
	}
	return o.AzureRoots
}

// Select keeps the checks whose id matches any --only pattern (all when none)
// and no --skip pattern. Patterns are shell globs over the id
// ("outbound.storage.*"); a bare prefix such as "outbound" also matches its
// sub-ids.
func Select(checks []probes.Check, only, skip []string) []probes.Check {
	var out []probes.Check
	for _, c := range checks {
		if len(only) > 0 && !matchAny(only, c.ID) {
			continue
		}
		if matchAny(skip, c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, id); ok || strings.HasPrefix(id, p+".") {
			return true
		}
	}
	return false
}

// ValidatePattern reports a malformed --only/--skip glob.
func ValidatePattern(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %v", p, err)
	}
	return nil
}
