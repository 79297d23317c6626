// Package cli is apimprobe's command line: the flags of run and plan, and
// their validation into one run.Config, every refusal one line naming its
// flag.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azureroots"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/run"
	"github.com/apimprobe/apimprobe/output"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/probes/egress"
	"github.com/apimprobe/apimprobe/resolver"
)

// Flags is everything the flags say; RunConfig validates it.
type Flags struct {
	Service, Mode, Phase, Cloud, Region string
	StorageAccount, SQLServer, KeyVault string
	EventHub                            string
	PrivateIP                           string
	Subnet                              string
	Timeout, Deadline                   time.Duration
	Concurrency                         int
	Only, Skip, Outputs                 []string
	Strict                              bool
	LogLevel, LogFormat                 string
	IMDSEndpoint, ARMEndpoint           string
	ARMCredential, ServiceTags          string
	ARM, NoARM                          bool
	Units                               int
	DNSServers                          []string
	EgressEchoURL, AzureRootsFile       string
	NoEgress                            bool
	ExpectEgressRaw                     []string
	AzureDNS                            string
	Color                               string
	Verbose, Redact                     bool
	StateFile                           string
	APIMSubnet, IdentityClientID        string
	CloudGiven                          bool
	CacheDir                            string
	CacheDirGiven                       bool
	Backends                            []string
	BackendRequired, InstanceProbe      bool
}

// Parse reads a command's arguments into Flags: what was given on the
// command line, defaults for the rest. The error is pflag.ErrHelp for
// --help (fs then holds the flags to list), or the one line that says
// what was wrong. Nothing is validated yet: RunConfig does that.
func Parse(cmd string, args []string) (c *Flags, fs *pflag.FlagSet, err error) {
	c = &Flags{}
	fs = NewFlagSet(cmd, c)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	c.CloudGiven = fs.Changed("cloud")
	c.CacheDirGiven = fs.Changed("cache-dir")
	if fs.NArg() > 0 {
		return nil, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, fs, nil
}

// NewFlagSet defines the flags of run and plan on c.
func NewFlagSet(cmd string, c *Flags) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&c.Service, "service", "", "API Management instance name (contoso → contoso.azure-api.net); without it instance checks are skipped (no-data)")
	fs.StringVar(&c.Mode, "mode", "auto", "VNet mode: "+probes.Join(probes.Modes(), ", ")+", or auto: the instance's own, from Resource Manager (virtualNetworkType and SKU), else internal")
	fs.StringVar(&c.Phase, "phase", string(probes.DeployAuto), "pre (before deployment), post, or auto (post when the gateway name resolves)")
	fs.StringVar(&c.Cloud, "cloud", string(probes.CloudPublic), "Azure cloud: "+probes.Join(probes.Clouds(), ", ")+" (when not given: the one the Instance Metadata Service names, else public)")
	fs.StringVar(&c.Region, "region", "", "Azure region, e.g. westeurope (default: from the Instance Metadata Service)")
	fs.StringVar(&c.StorageAccount, "storage-account", "", "a storage account of yours in the region (storage checks are skipped without it)")
	fs.StringVar(&c.SQLServer, "sql-server", "", "an Azure SQL logical server of yours (SQL check is skipped without it)")
	fs.StringVar(&c.KeyVault, "key-vault", "", "a key vault of yours (Key Vault check is skipped without it)")
	fs.StringVar(&c.EventHub, "event-hub", "", "an Event Hubs namespace of yours, for the log-to-eventhub policy (Event Hubs checks are skipped without it)")
	fs.StringVar(&c.PrivateIP, "private-ip", "", "the instance's expected private virtual IP")
	fs.StringVar(&c.Subnet, "subnet", "", "the subnet's prefix, e.g. 10.0.1.0/24 (default: from the Instance Metadata Service)")
	fs.StringArrayVar(&c.DNSServers, "dns-server", nil, "a resolver to query, IP or IP:PORT, repeatable (at most 20); replaces the nameservers of /etc/resolv.conf (default: those nameservers; a loopback stub such as systemd-resolved's 127.0.0.53 is asked beside the servers it forwards to, from /run/systemd/resolve/resolv.conf)")
	fs.StringVar(&c.AzureDNS, "azure-dns", "168.63.129.16", "the Azure-provided DNS address, always asked beside the others for comparison")
	fs.StringVar(&c.EgressEchoURL, "egress-echo-url", egress.DefaultEchoURL, "an HTTPS service that answers with the caller's public IP (plain text or JSON)")
	fs.BoolVar(&c.NoEgress, "no-egress", false, "do not ask the egress echo (route.egress-ip is skipped)")
	fs.StringArrayVar(&c.ExpectEgressRaw, "expect-egress", nil, "where internet-bound traffic should leave from (NAT gateway, public IP prefix), CIDR, repeatable (default: the VM's public IP and the AzureCloud prefixes)")
	fs.StringVar(&c.AzureRootsFile, "azure-roots", "", "PEM file of the roots that count as genuine for Azure endpoints, for the TLS inspection check (default: built in)")
	fs.StringVar(&c.IMDSEndpoint, "imds-endpoint", discover.DefaultIMDSEndpoint, "the Instance Metadata Service")
	fs.BoolVar(&c.ARM, "arm", false, "use Azure Resource Manager (routes, NSGs, subnet, instance) and fail loudly when no token can be had (default: auto, used when a token can be had)")
	fs.BoolVar(&c.NoARM, "no-arm", false, "do not use Azure Resource Manager: route.* and subnet.* checks are skipped as not-observable")
	fs.StringVar(&c.ARMEndpoint, "arm-endpoint", "", "Resource Manager endpoint, https (default: the cloud's)")
	fs.StringVar(&c.ARMCredential, "arm-credential", probes.CredManagedIdentity, "identity for Resource Manager: managed-identity, azure-cli, or default (azidentity's DefaultAzureCredential chain)")
	fs.StringVar(&c.IdentityClientID, "identity-client-id", "", "client id of a user-assigned managed identity for Resource Manager (default: the VM's system-assigned identity)")
	fs.StringVar(&c.APIMSubnet, "apim-subnet", "", "the instance's subnet, a resource id, for the v2 modes where apimprobe cannot run inside it and before the instance exists (default: from the instance's virtualNetworkConfiguration)")
	fs.StringArrayVar(&c.Backends, "backend", nil, "one of your backends to check from here (DNS, TCP, TLS, HTTP), an http or https URL, repeatable (with Resource Manager, the instance's own backends and API service URLs are added)")
	fs.BoolVar(&c.BackendRequired, "backend-required", false, "backend failures count as required (default: backends are optional)")
	fs.BoolVar(&c.InstanceProbe, "instance-probe", false, "also ask the instance to probe each required dependency and backend from its own machines (ConnectivityCheck: one long-running POST per destination, an action the identity must be allowed) and report it beside this VM's result")
	fs.StringVar(&c.CacheDir, "cache-dir", "", "where Resource Manager's service tag list is kept between runs (a day at most); none for no cache (default: $XDG_CACHE_HOME/apimprobe or ~/.cache/apimprobe, /var/cache/apimprobe as root; no cache when it cannot be written)")
	fs.StringVar(&c.ServiceTags, "service-tags", "", "a downloaded Azure IP Ranges and Service Tags JSON file (default: Resource Manager's service tag API when available)")
	fs.IntVar(&c.Units, "units", 0, "planned scale units, for the subnet size check (default: the instance's capacity from Resource Manager, else 1)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "one check's limit")
	fs.DurationVar(&c.Deadline, "deadline", 30*time.Second, "the whole run's hard limit")
	fs.IntVar(&c.Concurrency, "concurrency", 32, "checks in flight at once")
	fs.StringArrayVar(&c.Only, "only", nil, "run only checks whose id matches this glob (repeatable, or comma-separated), e.g. 'outbound.storage.*'")
	fs.StringArrayVar(&c.Skip, "skip", nil, "skip checks whose id matches this glob (repeatable, or comma-separated)")
	fs.StringArrayVarP(&c.Outputs, "output", "o", nil, "FORMAT[=FILE]: table, json, jsonl, markdown, junit, prometheus; repeatable; =FILE writes the file atomically (jsonl appends a line) (default: table on a terminal, json otherwise)")
	fs.StringVar(&c.StateFile, "state", "", "remember each check's status in FILE between runs and report what changed")
	fs.BoolVar(&c.Strict, "strict", false, "warnings and optional failures also exit 1")
	fs.BoolVarP(&c.Verbose, "verbose", "v", false, "the table lists every check, not only what needs attention")
	fs.StringVar(&c.Color, "color", "auto", "colour in the table: auto, always, never (NO_COLOR and TERM=dumb mean never under auto)")
	fs.BoolVar(&c.Redact, "redact", false, "replace your names (service, accounts, vault, server, resource group, subscription) and addresses with stable placeholders in every output, for sharing")
	fs.StringVar(&c.LogLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "console", "log format on standard error: console, json")
	return fs
}

// nameRule is the shape of an Azure resource name: its length, which
// characters it holds, and how it may begin and end. A rule rather than a
// regular expression: the counted repetitions ({0,61}) of the expressions
// these were compiled to 1,500 allocations and a millisecond at every start.
type nameRule struct {
	min, max int
	// lower: letters are lower-case only; hyphens: a hyphen may stand
	// inside the name (never at either end).
	lower, hyphens bool
	// letterFirst: the name starts with a letter.
	letterFirst bool
}

func (r nameRule) match(s string) bool {
	if len(s) < r.min || len(s) > r.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9' && !(i == 0 && r.letterFirst):
		case c >= 'A' && c <= 'Z' && !r.lower:
		case c == '-' && r.hyphens && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

var (
	// API Management service names: 1–50 characters, letters, digits and
	// hyphens, starting with a letter, not ending with a hyphen.
	serviceRule = nameRule{min: 1, max: 50, hyphens: true, letterFirst: true}
	storageRule = nameRule{min: 3, max: 24, lower: true}
	sqlRule     = nameRule{min: 1, max: 63, lower: true, hyphens: true}
	vaultRule   = nameRule{min: 3, max: 24, hyphens: true, letterFirst: true}
	regionRule  = nameRule{min: 2, max: 41, letterFirst: true}
	// Event Hubs namespaces: 6–50 letters, digits and hyphens, starting
	// with a letter, ending with a letter or digit.
	eventHubRule = nameRule{min: 6, max: 50, hyphens: true, letterFirst: true}
)

// RunConfig validates the flags and turns them into the run's typed
// configuration; the error is the one line the operator sees. The steps
// run in this order, so that of two bad flags the same one is named first.
func (c *Flags) RunConfig() (run.Config, error) {
	var cfg run.Config
	for _, step := range []func(*run.Config) error{
		c.words, c.names, c.endpoints, c.limits, c.selection, c.instanceAddresses, c.network, c.switches, c.azure,
	} {
		if err := step(&cfg); err != nil {
			return cfg, err
		}
	}
	cfg.Service, cfg.Region, cfg.Subnet = c.Service, c.Region, c.Subnet
	cfg.StorageAccount, cfg.SQLServer, cfg.KeyVault, cfg.EventHub = c.StorageAccount, c.SQLServer, c.KeyVault, c.EventHub
	cfg.EgressEchoURL, cfg.NoEgress = c.EgressEchoURL, c.NoEgress
	cfg.Timeout, cfg.Deadline, cfg.Concurrency = c.Timeout, c.Deadline, c.Concurrency
	cfg.Only, cfg.Skip = c.Only, c.Skip
	return cfg, nil
}

// words parses the flags that take one of a few words: --mode, --cloud,
// --phase.
func (c *Flags) words(cfg *run.Config) error {
	var err error
	if c.Mode != "auto" && c.Mode != "" {
		if cfg.Mode, err = probes.ParseMode(c.Mode); err != nil {
			return fmt.Errorf("%w, or auto", err)
		}
	}
	if cfg.Cloud, err = probes.ParseCloud(c.Cloud); err != nil {
		return err
	}
	cfg.Phase, err = probes.ParseDeployPhase(c.Phase)
	return err
}

// names checks the Azure resource names the operator gave, and suggests
// the name when a host name or URL was pasted instead.
func (c *Flags) names(*run.Config) error {
	names := []struct {
		flag, v, what string
		rule          nameRule
	}{
		{"service", c.Service, "an API Management name: 1-50 letters, digits or hyphens, starting with a letter", serviceRule},
		{"storage-account", c.StorageAccount, "a storage account name: 3-24 lower-case letters or digits", storageRule},
		{"sql-server", c.SQLServer, "an Azure SQL server name: lower-case letters, digits and hyphens, not at either end", sqlRule},
		{"key-vault", c.KeyVault, "a key vault name: 3-24 letters, digits or hyphens, starting with a letter", vaultRule},
		{"event-hub", c.EventHub, "an Event Hubs namespace name: 6-50 letters, digits or hyphens, starting with a letter", eventHubRule},
		{"region", c.Region, "an Azure region name such as westeurope", regionRule},
	}
	for _, n := range names {
		if n.v != "" && !n.rule.match(n.v) {
			if name := nameIn(n.v, n.rule); name != "" && n.flag != "region" {
				return fmt.Errorf("--%s %q is not %s; give the name, not a host name or URL: --%s %s", n.flag, n.v, n.what, n.flag, name)
			}
			return fmt.Errorf("--%s %q is not %s", n.flag, n.v, n.what)
		}
	}
	return nil
}

// endpoints checks the URL flags' host names and parses --backend.
func (c *Flags) endpoints(cfg *run.Config) error {
	// --backend's host names are checked by catalog.ParseBackends.
	urls := []struct{ flag, v string }{{"imds-endpoint", c.IMDSEndpoint}, {"arm-endpoint", c.ARMEndpoint}, {"egress-echo-url", c.EgressEchoURL}}
	for _, u := range urls {
		if err := checkURLHost(u.flag, u.v); err != nil {
			return err
		}
	}
	var err error
	if cfg.Backends, err = catalog.ParseBackends(c.Backends); err != nil {
		return err
	}
	cfg.BackendRequired, cfg.InstanceProbe = c.BackendRequired, c.InstanceProbe
	return nil
}

// limits checks --timeout, --deadline and --concurrency.
func (c *Flags) limits(*run.Config) error {
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", c.Timeout)
	}
	if c.Deadline <= 0 {
		return fmt.Errorf("--deadline must be positive, got %s", c.Deadline)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1, got %d", c.Concurrency)
	}
	return nil
}

// selection splits and checks the --only and --skip globs.
func (c *Flags) selection(*run.Config) error {
	// Check ids never hold a comma, so "a,b" is two globs, as an operator
	// who writes it means.
	var err error
	if c.Only, err = splitGlobs("--only", c.Only); err != nil {
		return err
	}
	if c.Skip, err = splitGlobs("--skip", c.Skip); err != nil {
		return err
	}
	for _, p := range append(append([]string{}, c.Only...), c.Skip...) {
		if err := catalog.ValidatePattern(p); err != nil {
			return fmt.Errorf("--only/--skip: %v", err)
		}
	}
	return nil
}

// instanceAddresses checks what the operator says of the instance's
// subnet: its prefix, the private IP in it, the scale units.
func (c *Flags) instanceAddresses(*run.Config) error {
	// The parsers' errors name their flag already.
	subnet, err := resolver.ParseSubnet(c.Subnet)
	if c.Subnet != "" && err != nil {
		return err
	}
	if c.PrivateIP != "" {
		if _, err := resolver.ParsePrivateIP(c.PrivateIP, subnet); err != nil {
			return err
		}
	}
	if c.Units < 0 || c.Units > 31 {
		return fmt.Errorf("--units %d: want 1 to 31 scale units", c.Units)
	}
	return nil
}

// network parses the resolvers to ask, the expected egress and its echo,
// and the roots that count as Azure's.
func (c *Flags) network(cfg *run.Config) error {
	var err error
	if cfg.DNSServers, err = resolver.ParseServers(c.DNSServers); err != nil {
		return fmt.Errorf("--dns-server: %v", err)
	}
	if cfg.AzureDNS, err = resolver.ParseFlagServer(c.AzureDNS); err != nil {
		return fmt.Errorf("--azure-dns: %v", err)
	}
	if cfg.ExpectEgress, err = egress.ParseExpect(c.ExpectEgressRaw); err != nil {
		return err
	}
	if !c.NoEgress {
		if err := egress.ValidateEchoURL(c.EgressEchoURL); err != nil {
			return err
		}
	}
	cfg.AzureRoots = azureroots.Default()
	if c.AzureRootsFile != "" {
		if cfg.AzureRoots, err = azureroots.Load(c.AzureRootsFile); err != nil {
			return err
		}
	}
	return nil
}

// switches checks the flags that take a fixed word or contradict each
// other: --arm with --no-arm, --log-level, --color, --log-format.
func (c *Flags) switches(*run.Config) error {
	if c.ARM && c.NoARM {
		return errors.New("--arm and --no-arm contradict each other")
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return fmt.Errorf("--log-level: unknown value %q (want one of debug, info, warn, error)", c.LogLevel)
	}
	if c.Color != "auto" && c.Color != "always" && c.Color != "never" {
		return fmt.Errorf("--color: unknown value %q (want one of auto, always, never)", c.Color)
	}
	if c.LogFormat != "console" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format: unknown value %q (want one of console, json)", c.LogFormat)
	}
	return nil
}

// azure builds and checks the discovery's options (metadata service,
// Resource Manager, the instance).
func (c *Flags) azure(cfg *run.Config) error {
	armMode := discover.ARMAuto
	switch {
	case c.ARM:
		armMode = discover.ARMOn
	case c.NoARM:
		armMode = discover.ARMOff
	}
	if !c.CloudGiven {
		cfg.Cloud = "" // the metadata service's azEnvironment decides
	}
	cfg.Azure = discover.Options{
		IMDSEndpoint: c.IMDSEndpoint, ARM: armMode, ARMEndpoint: c.ARMEndpoint, Cloud: cfg.Cloud,
		Credential: c.ARMCredential, ManagedIdentityClientID: c.IdentityClientID, ServiceTagsFile: c.ServiceTags,
		Service: c.Service, Mode: cfg.Mode, ModeAuto: cfg.Mode == "", APIMSubnet: c.APIMSubnet,
		Phase: cfg.Phase, Region: c.Region, Subnet: c.Subnet, PrivateIP: c.PrivateIP,
	}
	cfg.Units = c.Units
	return discover.Validate(&cfg.Azure)
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

// CheckStateFile checks --state before anything is probed: a file the run
// can write, and not one that a report goes to as well (the state would
// replace the report, or the report the state).
func CheckStateFile(path string, specs []output.Spec) error {
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
func nameIn(v string, rule nameRule) string {
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
	if rule.match(label) {
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

// ResolveCacheDir settles --cache-dir for a run: a given directory must be
// usable (servicetags.Usable: this user's, written by nobody else), none
// turns the cache off, and the default is used when it is usable and
// skipped otherwise. The cache is for Resource Manager's list: a run
// without it, or with --service-tags, makes no default directory.
func (c *Flags) ResolveCacheDir() (string, error) {
	if c.CacheDir == "none" {
		return "", nil
	}
	if c.CacheDirGiven {
		if c.CacheDir == "" {
			return "", errors.New("--cache-dir: give a directory, or none for no cache")
		}
		if err := servicetags.Usable(c.CacheDir); err != nil {
			return "", fmt.Errorf("--cache-dir %s: cannot keep the service tag list there: %v", c.CacheDir, err)
		}
		return c.CacheDir, nil
	}
	if c.NoARM || c.ServiceTags != "" {
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
