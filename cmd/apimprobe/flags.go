package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/apimprobe/apimprobe/internal/azure/azurectx"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azureroots"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/run"
	"github.com/apimprobe/apimprobe/output"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/probes/egress"
	"github.com/apimprobe/apimprobe/resolver"
)

// config is everything the flags say, validated.
type config struct {
	service, mode, phase, cloud, region string
	storageAccount, sqlServer, keyVault string
	eventHub                            string
	privateIP                           string
	subnet                              string
	timeout, deadline                   time.Duration
	concurrency                         int
	only, skip, outputs                 []string
	strict                              bool
	logLevel, logFormat                 string
	imdsEndpoint, armEndpoint           string
	armCredential, serviceTags          string
	arm, noARM                          bool
	units                               int
	dnsServers                          []string
	egressEchoURL, azureRootsFile       string
	noEgress                            bool
	expectEgressRaw                     []string
	azureDNS                            string
	color                               string
	verbose, redact                     bool
	stateFile                           string
	apimSubnet, identityClientID        string
	cloudGiven                          bool
	cacheDir                            string
	cacheDirGiven                       bool
	backends                            []string
	backendRequired, instanceProbe      bool
}

func newFlagSet(cmd string, c *config) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&c.service, "service", "", "API Management instance name (contoso → contoso.azure-api.net); without it instance checks are skipped (no-data)")
	fs.StringVar(&c.mode, "mode", "auto", "VNet mode: "+probes.Join(probes.Modes(), ", ")+", or auto: the instance's own, from Resource Manager (virtualNetworkType and SKU), else internal")
	fs.StringVar(&c.phase, "phase", string(probes.DeployAuto), "pre (before deployment), post, or auto (post when the gateway name resolves)")
	fs.StringVar(&c.cloud, "cloud", string(probes.CloudPublic), "Azure cloud: "+probes.Join(probes.Clouds(), ", ")+" (when not given: the one the Instance Metadata Service names, else public)")
	fs.StringVar(&c.region, "region", "", "Azure region, e.g. westeurope (default: from the Instance Metadata Service)")
	fs.StringVar(&c.storageAccount, "storage-account", "", "a storage account of yours in the region (storage checks are skipped without it)")
	fs.StringVar(&c.sqlServer, "sql-server", "", "an Azure SQL logical server of yours (SQL check is skipped without it)")
	fs.StringVar(&c.keyVault, "key-vault", "", "a key vault of yours (Key Vault check is skipped without it)")
	fs.StringVar(&c.eventHub, "event-hub", "", "an Event Hubs namespace of yours, for the log-to-eventhub policy (Event Hubs checks are skipped without it)")
	fs.StringVar(&c.privateIP, "private-ip", "", "the instance's expected private virtual IP")
	fs.StringVar(&c.subnet, "subnet", "", "the subnet's prefix, e.g. 10.0.1.0/24 (default: from the Instance Metadata Service)")
	fs.StringArrayVar(&c.dnsServers, "dns-server", nil, "a resolver to query, IP or IP:PORT, repeatable (at most 20); replaces the nameservers of /etc/resolv.conf (default: those nameservers; a loopback stub such as systemd-resolved's 127.0.0.53 is asked beside the servers it forwards to, from /run/systemd/resolve/resolv.conf)")
	fs.StringVar(&c.azureDNS, "azure-dns", "168.63.129.16", "the Azure-provided DNS address, always asked beside the others for comparison")
	fs.StringVar(&c.egressEchoURL, "egress-echo-url", egress.DefaultEchoURL, "an HTTPS service that answers with the caller's public IP (plain text or JSON)")
	fs.BoolVar(&c.noEgress, "no-egress", false, "do not ask the egress echo (route.egress-ip is skipped)")
	fs.StringArrayVar(&c.expectEgressRaw, "expect-egress", nil, "where internet-bound traffic should leave from (NAT gateway, public IP prefix), CIDR, repeatable (default: the VM's public IP and the AzureCloud prefixes)")
	fs.StringVar(&c.azureRootsFile, "azure-roots", "", "PEM file of the roots that count as genuine for Azure endpoints, for the TLS inspection check (default: built in)")
	fs.StringVar(&c.imdsEndpoint, "imds-endpoint", azurectx.DefaultIMDSEndpoint, "the Instance Metadata Service")
	fs.BoolVar(&c.arm, "arm", false, "use Azure Resource Manager (routes, NSGs, subnet, instance) and fail loudly when no token can be had (default: auto, used when a token can be had)")
	fs.BoolVar(&c.noARM, "no-arm", false, "do not use Azure Resource Manager: route.* and subnet.* checks are skipped as not-observable")
	fs.StringVar(&c.armEndpoint, "arm-endpoint", "", "Resource Manager endpoint, https (default: the cloud's)")
	fs.StringVar(&c.armCredential, "arm-credential", azurectx.CredManagedIdentity, "identity for Resource Manager: managed-identity, azure-cli, or default (azidentity's DefaultAzureCredential chain)")
	fs.StringVar(&c.identityClientID, "identity-client-id", "", "client id of a user-assigned managed identity for Resource Manager (default: the VM's system-assigned identity)")
	fs.StringVar(&c.apimSubnet, "apim-subnet", "", "the instance's subnet, a resource id, for the v2 modes where apimprobe cannot run inside it and before the instance exists (default: from the instance's virtualNetworkConfiguration)")
	fs.StringArrayVar(&c.backends, "backend", nil, "one of your backends to check from here (DNS, TCP, TLS, HTTP), an http or https URL, repeatable (with Resource Manager, the instance's own backends and API service URLs are added)")
	fs.BoolVar(&c.backendRequired, "backend-required", false, "backend failures count as required (default: backends are optional)")
	fs.BoolVar(&c.instanceProbe, "instance-probe", false, "also ask the instance to probe each required dependency and backend from its own machines (ConnectivityCheck: one long-running POST per destination, an action the identity must be allowed) and report it beside this VM's result")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "where Resource Manager's service tag list is kept between runs (a day at most); none for no cache (default: $XDG_CACHE_HOME/apimprobe or ~/.cache/apimprobe, /var/cache/apimprobe as root; no cache when it cannot be written)")
	fs.StringVar(&c.serviceTags, "service-tags", "", "a downloaded Azure IP Ranges and Service Tags JSON file (default: Resource Manager's service tag API when available)")
	fs.IntVar(&c.units, "units", 0, "planned scale units, for the subnet size check (default: the instance's capacity from Resource Manager, else 1)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "one check's limit")
	fs.DurationVar(&c.deadline, "deadline", 30*time.Second, "the whole run's hard limit")
	fs.IntVar(&c.concurrency, "concurrency", 32, "checks in flight at once")
	fs.StringArrayVar(&c.only, "only", nil, "run only checks whose id matches this glob (repeatable, or comma-separated), e.g. 'outbound.storage.*'")
	fs.StringArrayVar(&c.skip, "skip", nil, "skip checks whose id matches this glob (repeatable, or comma-separated)")
	fs.StringArrayVarP(&c.outputs, "output", "o", nil, "FORMAT[=FILE]: table, json, jsonl, markdown, junit, prometheus; repeatable; =FILE writes the file atomically (jsonl appends a line) (default: table on a terminal, json otherwise)")
	fs.StringVar(&c.stateFile, "state", "", "remember each check's status in FILE between runs and report what changed")
	fs.BoolVar(&c.strict, "strict", false, "warnings and optional failures also exit 1")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "the table lists every check, not only what needs attention")
	fs.StringVar(&c.color, "color", "auto", "colour in the table: auto, always, never (NO_COLOR and TERM=dumb mean never under auto)")
	fs.BoolVar(&c.redact, "redact", false, "replace your names (service, accounts, vault, server, resource group, subscription) and addresses with stable placeholders in every output, for sharing")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "console", "log format on standard error: console, json")
	return fs
}

var (
	// API Management service names: 1–50 characters, letters, digits and
	// hyphens, starting with a letter, not ending with a hyphen.
	serviceRE = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$`)
	storageRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	sqlRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	vaultRE   = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9-]{1,22}[a-zA-Z0-9])$`)
	regionRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{1,40}$`)
	// Event Hubs namespaces: 6–50 letters, digits and hyphens, starting
	// with a letter, ending with a letter or digit.
	eventHubRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$`)
)

// runConfig validates the flags and turns them into the run's typed
// configuration; the error is the one line the operator sees.
func (c *config) runConfig() (run.Config, error) {
	var (
		cfg run.Config
		err error
	)
	if c.mode != "auto" && c.mode != "" {
		if cfg.Mode, err = probes.ParseMode(c.mode); err != nil {
			return cfg, fmt.Errorf("%w, or auto", err)
		}
	}
	if cfg.Cloud, err = probes.ParseCloud(c.cloud); err != nil {
		return cfg, err
	}
	if cfg.Phase, err = probes.ParseDeployPhase(c.phase); err != nil {
		return cfg, err
	}
	names := []struct {
		flag, v, what string
		re            *regexp.Regexp
	}{
		{"service", c.service, "an API Management name: 1-50 letters, digits or hyphens, starting with a letter", serviceRE},
		{"storage-account", c.storageAccount, "a storage account name: 3-24 lower-case letters or digits", storageRE},
		{"sql-server", c.sqlServer, "an Azure SQL server name: lower-case letters, digits and hyphens, not at either end", sqlRE},
		{"key-vault", c.keyVault, "a key vault name: 3-24 letters, digits or hyphens, starting with a letter", vaultRE},
		{"event-hub", c.eventHub, "an Event Hubs namespace name: 6-50 letters, digits or hyphens, starting with a letter", eventHubRE},
		{"region", c.region, "an Azure region name such as westeurope", regionRE},
	}
	for _, n := range names {
		if n.v != "" && !n.re.MatchString(n.v) {
			if name := nameIn(n.v, n.re); name != "" && n.flag != "region" {
				return cfg, fmt.Errorf("--%s %q is not %s; give the name, not a host name or URL: --%s %s", n.flag, n.v, n.what, n.flag, name)
			}
			return cfg, fmt.Errorf("--%s %q is not %s", n.flag, n.v, n.what)
		}
	}
	// --backend's host names are checked by catalog.ParseBackends.
	urls := []struct{ flag, v string }{{"imds-endpoint", c.imdsEndpoint}, {"arm-endpoint", c.armEndpoint}, {"egress-echo-url", c.egressEchoURL}}
	for _, u := range urls {
		if err := checkURLHost(u.flag, u.v); err != nil {
			return cfg, err
		}
	}
	if cfg.Backends, err = catalog.ParseBackends(c.backends); err != nil {
		return cfg, err
	}
	cfg.BackendRequired, cfg.InstanceProbe = c.backendRequired, c.instanceProbe
	if c.timeout <= 0 {
		return cfg, fmt.Errorf("--timeout must be positive, got %s", c.timeout)
	}
	if c.deadline <= 0 {
		return cfg, fmt.Errorf("--deadline must be positive, got %s", c.deadline)
	}
	if c.concurrency < 1 {
		return cfg, fmt.Errorf("--concurrency must be at least 1, got %d", c.concurrency)
	}
	// Check ids never hold a comma, so "a,b" is two globs, as an operator
	// who writes it means.
	if c.only, err = splitGlobs("--only", c.only); err != nil {
		return cfg, err
	}
	if c.skip, err = splitGlobs("--skip", c.skip); err != nil {
		return cfg, err
	}
	for _, p := range append(append([]string{}, c.only...), c.skip...) {
		if err := catalog.ValidatePattern(p); err != nil {
			return cfg, fmt.Errorf("--only/--skip: %v", err)
		}
	}
	// The parsers' errors name their flag already.
	subnet, err := resolver.ParseSubnet(c.subnet)
	if c.subnet != "" && err != nil {
		return cfg, err
	}
	if c.privateIP != "" {
		if _, err := resolver.ParsePrivateIP(c.privateIP, subnet); err != nil {
			return cfg, err
		}
	}
	if c.units < 0 || c.units > 31 {
		return cfg, fmt.Errorf("--units %d: want 1 to 31 scale units", c.units)
	}
	if cfg.DNSServers, err = resolver.ParseServers(c.dnsServers); err != nil {
		return cfg, fmt.Errorf("--dns-server: %v", err)
	}
	if cfg.AzureDNS, err = resolver.ParseFlagServer(c.azureDNS); err != nil {
		return cfg, fmt.Errorf("--azure-dns: %v", err)
	}
	if cfg.ExpectEgress, err = egress.ParseExpect(c.expectEgressRaw); err != nil {
		return cfg, err
	}
	if !c.noEgress {
		if err := egress.ValidateEchoURL(c.egressEchoURL); err != nil {
			return cfg, err
		}
	}
	cfg.AzureRoots = azureroots.Default()
	if c.azureRootsFile != "" {
		if cfg.AzureRoots, err = azureroots.Load(c.azureRootsFile); err != nil {
			return cfg, err
		}
	}
	if c.arm && c.noARM {
		return cfg, errors.New("--arm and --no-arm contradict each other")
	}
	if _, err := zerolog.ParseLevel(c.logLevel); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, c.logLevel) {
		return cfg, fmt.Errorf("--log-level: unknown value %q (want one of debug, info, warn, error)", c.logLevel)
	}
	if c.color != "auto" && c.color != "always" && c.color != "never" {
		return cfg, fmt.Errorf("--color: unknown value %q (want one of auto, always, never)", c.color)
	}
	if c.logFormat != "console" && c.logFormat != "json" {
		return cfg, fmt.Errorf("--log-format: unknown value %q (want one of console, json)", c.logFormat)
	}
	armMode := azurectx.ARMAuto
	switch {
	case c.arm:
		armMode = azurectx.ARMOn
	case c.noARM:
		armMode = azurectx.ARMOff
	}
	if !c.cloudGiven {
		cfg.Cloud = "" // the metadata service's azEnvironment decides
	}
	cfg.Azure = azurectx.Options{
		IMDSEndpoint: c.imdsEndpoint, ARM: armMode, ARMEndpoint: c.armEndpoint, Cloud: cfg.Cloud,
		Credential: c.armCredential, ManagedIdentityClientID: c.identityClientID, ServiceTagsFile: c.serviceTags,
		Service: c.service, Mode: cfg.Mode, ModeAuto: cfg.Mode == "", APIMSubnet: c.apimSubnet,
		Phase: cfg.Phase, Units: c.units, Region: c.region, Subnet: c.subnet, PrivateIP: c.privateIP,
	}
	if err := azurectx.Validate(&cfg.Azure); err != nil {
		return cfg, err
	}
	cfg.Service, cfg.Region, cfg.Subnet = c.service, c.region, c.subnet
	cfg.StorageAccount, cfg.SQLServer, cfg.KeyVault, cfg.EventHub = c.storageAccount, c.sqlServer, c.keyVault, c.eventHub
	cfg.EgressEchoURL, cfg.NoEgress = c.egressEchoURL, c.noEgress
	cfg.Timeout, cfg.Deadline, cfg.Concurrency = c.timeout, c.deadline, c.concurrency
	cfg.Only, cfg.Skip = c.only, c.skip
	return cfg, nil
}

// splitGlobs takes each value of a repeatable --only/--skip apart at its
// commas; a value with no glob in it is an error, not "everything".
func splitGlobs(flag string, values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		n := len(out)
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				out = append(out, g)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s %q: no glob in it", flag, v)
		}
	}
	return out, nil
}

// checkStateFile checks --state before anything is probed: a file the run
// can write, and not one that a report goes to as well (the state would
// replace the report, or the report the state).
func checkStateFile(path string, specs []output.Spec) error {
	if err := output.ValidateFile("--state "+path, path); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("--state %s: %w", path, err)
	}
	for _, s := range specs {
		if a, err := filepath.Abs(s.File); s.File != "" && err == nil && a == abs {
			return fmt.Errorf("--state %s and --output %s write the same file", path, s)
		}
	}
	return nil
}

// nameIn finds the resource name in what an operator pasted instead of
// it: an Azure host name, a URL or a SQL connection string's server
// ("https://mystore.blob.core.windows.net/", "tcp:mysql.database.windows.net,1433"
// give "mystore", "mysql"). It returns "" when v is not one of those (a
// custom domain names no resource), or re refuses the name in it.
func nameIn(v string, re *regexp.Regexp) string {
	if _, rest, ok := strings.Cut(v, "://"); ok {
		v = rest
	}
	host := strings.ToLower(strings.TrimPrefix(v, "tcp:"))
	if i := strings.IndexAny(host, "/,:"); i >= 0 {
		host = host[:i]
	}
	label, zone, ok := strings.Cut(strings.TrimSuffix(host, "."), ".")
	if !ok || !slices.ContainsFunc(azureZones, func(z string) bool { return zone == z || strings.HasSuffix(zone, "."+z) }) {
		return ""
	}
	if re.MatchString(label) {
		return label
	}
	return ""
}

// azureZones are the DNS zones of the resources' host names in the three
// clouds (blob.core.windows.net, vault.usgovcloudapi.net, azure-api.cn …).
var azureZones = []string{"windows.net", "azure.net", "azure-api.net", "usgovcloudapi.net", "azure.us", "azure-api.us", "chinacloudapi.cn", "azure.cn", "azure-api.cn"}

// checkURLHost refuses a URL flag whose host name DNS cannot carry: longer
// than 253 characters, or with a label longer than 63 or empty. Such a
// name would only fail later, at a resolver, as a confusing DNS error (or
// be cut in a message). An address or a name that is not there is left to
// the flag's own check.
func checkURLHost(flag, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if _, rest, ok := strings.Cut(raw, "://"); ok {
			// The host as written, up to the path: url.Parse refuses some
			// hosts that are only long.
			u = &url.URL{Host: strings.SplitN(rest, "/", 2)[0]}
		} else {
			return nil
		}
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil || host == "" {
		return nil
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) > 253 {
		return fmt.Errorf("--%s: the host name is %d characters long, more than the 253 a DNS name can have", flag, len(name))
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) > 63 {
			return fmt.Errorf("--%s: the host name has a label of %d characters, more than the 63 DNS allows", flag, len(label))
		}
		if label == "" {
			return fmt.Errorf("--%s: the host name has an empty label (two dots in a row)", flag)
		}
	}
	return nil
}

// cacheDirFor settles --cache-dir for a run: a given directory must be
// usable (servicetags.Usable: this user's, written by nobody else), none
// turns the cache off, and the default is used when it is usable and
// skipped otherwise. The cache is for Resource Manager's list: a run
// without it, or with --service-tags, makes no default directory.
func (c *config) cacheDirFor() (string, error) {
	if c.cacheDir == "none" {
		return "", nil
	}
	if c.cacheDirGiven {
		if c.cacheDir == "" {
			return "", errors.New("--cache-dir: give a directory, or none for no cache")
		}
		if err := servicetags.Usable(c.cacheDir); err != nil {
			return "", fmt.Errorf("--cache-dir %s: cannot keep the service tag list there: %v", c.cacheDir, err)
		}
		return c.cacheDir, nil
	}
	if c.noARM || c.serviceTags != "" {
		return "", nil
	}
	dir := "/var/cache/apimprobe"
	if os.Geteuid() != 0 {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", nil
		}
		dir = filepath.Join(base, "apimprobe")
	}
	if servicetags.Usable(dir) != nil {
		return "", nil
	}
	return dir, nil
}
