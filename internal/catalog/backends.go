package catalog

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// The user's own backends (SPEC area backend, category Backends): the URLs
// API Management forwards requests to, given with --backend or read from
// the instance's backends and APIs. Each is probed from this VM as a
// dependency is, by one HTTP check: DNS across every resolver (a
// privatelink CNAME shows a private endpoint), TCP, TLS against this
// machine's trust store, and HTTP, where any status proves reachability.

const (
	// CategoryBackends is the category of every backend.* check.
	CategoryBackends = "Backends"
	// BackendArea is the id area of the user's backends.
	BackendArea = string(probes.AreaBackend)
	// MaxBackends bounds the backends one run probes, given and discovered
	// together: an instance with hundreds of APIs must not turn a run
	// into a scan.
	MaxBackends = 64
	// maxHost is DNS's limit on a name.
	maxHost = 253

	backendSource = "learn.microsoft.com/azure/api-management/backends (the backend a request is forwarded to)"
)

// Backend is one backend to probe: a URL and where it came from.
type Backend struct {
	// URL is what is asked: no user information, no query string (either
	// may carry a secret), and "/" for a path that holds a placeholder.
	URL    string
	Scheme string
	// Host is lower case, without a trailing dot; Port is the URL's, or
	// its scheme's.
	Host string
	Port int
	// Sources say who named it ("--backend", "backend orders", "API
	// orders-api"), every one when several named the same host and port.
	Sources []string
	// Placeholder is the named value ({{name}}) a discovered URL holds
	// where its host should be: the value is the instance's, possibly a
	// secret, so the backend is reported as not resolvable, never guessed.
	Placeholder string
	// NoChainCheck, NoNameCheck: every source that names it turns the
	// gateway's certificate checks off (a backend entity's
	// validateCertificateChain, validateCertificateName false): a chain or
	// name this machine refuses does not stop the gateway.
	NoChainCheck, NoNameCheck bool
}

// Key is what backends are de-duplicated by: host and port.
func (b Backend) Key() string { return b.Host + ":" + strconv.Itoa(b.Port) }

// ID is the backend's check id: backend.<host>-<port>, or
// backend.named-value.<name> for a URL whose host is a placeholder.
func (b Backend) ID() string {
	if b.Placeholder != "" {
		return BackendArea + ".named-value." + idWord(b.Placeholder)
	}
	return BackendID(b.Host, b.Port)
}

// BackendID is the id of the backend at host and port: lower case, every
// character but letters, digits and hyphens a hyphen ("api.contoso.com",
// 443 → backend.api-contoso-com-443), so that the id stays one word under
// its area and --only 'backend.*' selects them all.
func BackendID(host string, port int) string {
	return BackendArea + "." + idWord(strings.TrimSuffix(host, ".")) + "-" + strconv.Itoa(port)
}

func idWord(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// BackendNames are the user's names that the backend checks of a report
// carry, for --redact: each backend's host name and the word its id makes
// of it with the port (IP addresses are redacted as addresses).
func BackendNames(checks []report.Check) []string {
	var out []string
	for _, c := range checks {
		if c.Category != CategoryBackends {
			continue
		}
		u, err := url.Parse(c.Target)
		if err != nil || u.Hostname() == "" {
			continue
		}
		if _, err := netip.ParseAddr(u.Hostname()); err == nil {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		out = append(out, u.Hostname(), idWord(u.Hostname())+"-"+port)
	}
	return out
}

// ParseBackend validates one --backend value: an http or https URL on one
// line, with a host name of at most 253 characters or an IP address, and no
// credentials. The error is the line the operator sees; it never repeats a
// password or a query string.
func ParseBackend(raw string) (Backend, error) {
	shown := probes.Untrusted(probes.ScrubURL(raw), 120)
	if strings.ContainsFunc(raw, unicode.IsControl) {
		return Backend{}, fmt.Errorf("--backend %q: one URL per flag, without line breaks or control characters", shown)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Backend{}, errors.New("--backend: empty URL")
	}
	if strings.Contains(raw, "{{") {
		return Backend{}, fmt.Errorf("--backend %q: a named-value placeholder; give the value itself", shown)
	}
	if !strings.Contains(raw, "://") {
		return Backend{}, fmt.Errorf("--backend %q: not a URL; write it with its scheme, e.g. --backend https://%s", shown, shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Backend{}, fmt.Errorf("--backend %q: not a URL", shown)
	}
	if u.User != nil {
		return Backend{}, fmt.Errorf("--backend %q: the URL carries a user name or password; leave credentials out (any answer proves the backend is reachable)", shown)
	}
	b, err := backendOf(u)
	if err != nil {
		return Backend{}, fmt.Errorf("--backend %q: %v", shown, err)
	}
	b.Sources = []string{"--backend"}
	return b, nil
}

// ParseBackends validates every --backend value and de-duplicates them.
func ParseBackends(raws []string) ([]Backend, error) {
	var out []Backend
	for _, r := range raws {
		b, err := ParseBackend(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	out = DedupBackends(out)
	if len(out) > MaxBackends {
		return nil, fmt.Errorf("--backend: %d backends, at most %d", len(out), MaxBackends)
	}
	return out, nil
}

// DiscoveredBackend reads a URL from the instance (a backend's
// properties.url, an API's properties.serviceUrl), named by source. A
// placeholder where the host should be gives a Backend with Placeholder
// set; a URL that cannot be probed at all (no host, another scheme) gives
// false.
func DiscoveredBackend(raw, source string) (Backend, bool) {
	raw = strings.TrimSpace(raw)
	source = probes.Untrusted(source, 120)
	if raw == "" || strings.ContainsFunc(raw, unicode.IsControl) {
		return Backend{}, false
	}
	authority := raw
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		authority = rest
	}
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if name, ok := placeholder(authority); ok {
		return Backend{Placeholder: name, URL: probes.Untrusted(probes.ScrubURL(raw), 200), Sources: []string{source}}, true
	}
	if strings.Contains(raw, "{{") {
		// Only the path holds a placeholder: the host is known, and any
		// path proves the backend reachable.
		if i := strings.Index(raw, authority); i >= 0 {
			raw = raw[:i+len(authority)] + "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return Backend{}, false
	}
	b, err := backendOf(u)
	if err != nil {
		return Backend{}, false
	}
	b.Sources = []string{source}
	return b, true
}

// placeholder finds a named-value placeholder ({{name}}) in a URL's
// authority and returns its name, cleaned and bounded.
func placeholder(authority string) (string, bool) {
	i := strings.Index(authority, "{{")
	if i < 0 {
		return "", false
	}
	rest := authority[i+2:]
	if j := strings.Index(rest, "}}"); j >= 0 {
		rest = rest[:j]
	}
	var b strings.Builder
	for _, r := range rest {
		if b.Len() >= 80 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "unnamed", true
	}
	return b.String(), true
}

// backendOf checks a parsed URL's scheme, host and port.
func backendOf(u *url.URL) (Backend, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return Backend{}, fmt.Errorf("scheme %q: want http or https", probes.Untrusted(u.Scheme, 20))
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return Backend{}, errors.New("no host name")
	}
	if len(host) > maxHost {
		return Backend{}, fmt.Errorf("host name of %d characters: at most %d", len(host), maxHost)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHost(host) {
		return Backend{}, errors.New("the host is neither a DNS name nor an IP address")
	}
	port := map[string]int{"http": 80, "https": 443}[scheme]
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Backend{}, fmt.Errorf("port %q: want 1 to 65535", probes.Untrusted(p, 10))
		}
		port = n
	}
	clean := &url.URL{Scheme: scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		clean.Host = net.JoinHostPort(host, strconv.Itoa(port))
	} else if u.Port() != "" {
		clean.Host = net.JoinHostPort(host, strconv.Itoa(port))
	} else {
		clean.Host = host
	}
	if clean.Path == "" {
		clean.Path = "/"
	}
	return Backend{URL: probes.Untrusted(clean.String(), 300), Scheme: scheme, Host: host, Port: port}, nil
}

// validHost accepts a DNS name: labels of 1 to 63 letters, digits, hyphens
// or underscores.
func validHost(h string) bool {
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// DedupBackends merges backends with the same host and port (their
// sources joined; the first URL is the one asked) and placeholders with
// the same name, keeping the first one's place.
func DedupBackends(bs []Backend) []Backend {
	var out []Backend
	at := map[string]int{}
	for _, b := range bs {
		k := b.Key()
		if b.Placeholder != "" {
			k = "{{" + b.Placeholder + "}}"
		}
		if i, ok := at[k]; ok {
			// A check is off only where every source turns it off.
			out[i].NoChainCheck = out[i].NoChainCheck && b.NoChainCheck
			out[i].NoNameCheck = out[i].NoNameCheck && b.NoNameCheck
			for _, s := range b.Sources {
				if !containsString(out[i].Sources, s) {
					out[i].Sources = append(out[i].Sources, s)
				}
			}
			continue
		}
		at[k] = len(out)
		b.Sources = append([]string(nil), b.Sources...)
		out = append(out, b)
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// BackendOptions parameterise the backend checks.
type BackendOptions struct {
	// Required: --backend-required; backends are optional otherwise.
	Required bool
	Resolver probes.Resolver
	// RootCAs is this machine's trust store (nil: the system's).
	RootCAs *x509.CertPool
	// PrivateLink, when set, names the privatelink CNAME hop of a host's
	// answer ("" when none): a private endpoint, said in the message.
	PrivateLink func(ctx context.Context, host string) string
}

// BackendChecks turns backends into checks, one per host and port, ids
// unique (a second host that cleans to the same id gets a suffix).
func BackendChecks(bs []Backend, o BackendOptions) []probes.Check {
	var out []probes.Check
	used := map[string]bool{}
	for _, b := range DedupBackends(bs) {
		ch := BackendCheck(b, o)
		base := ch.ID
		for n := 2; used[ch.ID]; n++ {
			ch.ID = base + "-" + strconv.Itoa(n)
		}
		used[ch.ID] = true
		out = append(out, ch)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// BackendCheck is the check of one backend.
func BackendCheck(b Backend, o BackendOptions) probes.Check {
	from := strings.Join(b.Sources, ", ")
	ch := probes.Check{
		ID: b.ID(), Category: CategoryBackends, Required: o.Required, Kind: probes.KindHTTP,
		Source: backendSource, Facets: probes.Facets{Area: probes.AreaBackend, Protocol: probes.ProtoTCP},
		Why: "API Management forwards requests to this backend (named by " + from + "); its gateway must resolve and reach it",
	}
	if b.Placeholder != "" {
		ch.Title = "Backend {{" + b.Placeholder + "}} (a named value)"
		ch.Target = probes.Subject("{{" + b.Placeholder + "}}")
		r := probes.Skipf(probes.ReasonNoData,
			fmt.Sprintf("%s names its host with the named value {{%s}}, whose value is the instance's and is not read here", from, b.Placeholder),
			"Pass the backend's URL with --backend URL (the named value's value) to check it from here.")
		r.Evidence = map[string]any{"named_value": b.Placeholder, "url": b.URL, "sources": b.Sources}
		ch.Preset = &r
		return ch
	}
	ch.Title = "Backend " + b.Host + " on " + strings.ToUpper(b.Scheme) + " " + strconv.Itoa(b.Port)
	ch.Target = probes.URLTarget(b.URL)
	ch.Probe = backendProbe(b, o)
	ch.Hint = func(r probes.Result) string { return backendHint(b, r) }
	return ch
}

// backendProbe asks the backend once (GET, no redirect followed: any
// answer is the backend's) and judges any HTTP status as reachable.
func backendProbe(b Backend, o BackendOptions) probes.Probe {
	h := probes.HTTP{URL: b.URL, Resolver: o.Resolver, RootCAs: o.RootCAs, MaxRedirects: -1,
		Expect: func(status int, _ http.Header, _ []byte) *probes.Result {
			r := probes.Passf(reachedWords(status))
			return &r
		}}
	return probes.ProbeFunc(func(ctx context.Context) probes.Result {
		r := h.Run(ctx)
		if r.Evidence == nil {
			r.Evidence = map[string]any{}
		}
		r.Evidence["sources"] = b.Sources
		if b.Scheme == "https" {
			// The chain is judged by this machine's trust store; API
			// Management's gateway judges it by its own (the public
			// roots and the CA certificates uploaded to the instance).
			r.Evidence["trust_store"] = "this machine's"
		}
		var hop string
		if o.PrivateLink != nil && len(r.Addresses) > 0 {
			hop = o.PrivateLink(ctx, b.Host)
		}
		if hop != "" {
			r.Evidence["private_endpoint"] = hop
		}
		switch {
		case r.Status == probes.Pass:
			if hop != "" {
				r.Message += fmt.Sprintf("; through a private endpoint (CNAME %s)", hop)
			}
			if b.Scheme == "https" {
				r.Message += "; certificate valid for " + b.Host + " in this machine's trust store"
			}
		case r.FailedPhase == probes.PhaseTLS && (r.Reason == probes.ReasonTLSUntrusted && b.NoChainCheck || r.Reason == probes.ReasonTLSNameMismatch && b.NoNameCheck):
			return unvalidated(ctx, b, o, r)
		case r.FailedPhase == probes.PhaseTLS && (r.Reason == probes.ReasonTLSUntrusted || r.Reason == probes.ReasonTLSNameMismatch):
			r.Message += " (judged by this machine's trust store)"
		}
		return r
	})
}

// unvalidated judges a backend whose certificate this machine refuses but
// whose backend entity tells the gateway not to check it: the handshake
// completing is then what the gateway needs.
func unvalidated(ctx context.Context, b Backend, o BackendOptions, refused probes.Result) probes.Result {
	r := probes.TLS{Host: b.Host, Port: b.Port, Resolver: o.Resolver, RootCAs: o.RootCAs, ReachOnly: true}.Run(ctx)
	if r.Evidence == nil {
		r.Evidence = map[string]any{}
	}
	for k, v := range refused.Evidence {
		if _, ok := r.Evidence[k]; !ok {
			r.Evidence[k] = v
		}
	}
	r.Evidence["certificate_checks"] = "off in the backend entity"
	if r.Status == probes.Pass {
		r.Message = fmt.Sprintf("reached over TLS; this machine's trust store refuses the certificate (%s), but the backend entity turns the gateway's certificate check off, so the gateway accepts it", refused.Message)
	}
	return r
}

// reachedWords says what an HTTP status proves: any answer is the backend
// reached; 401 and 403 are the backend refusing this anonymous request.
func reachedWords(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("reached, authentication refused (HTTP %d to an anonymous request)", status)
	}
	return fmt.Sprintf("reached: HTTP %d", status)
}

// backendHint is the concrete change for a backend that was not reached,
// by the phase it failed in.
func backendHint(b Backend, r probes.Result) string {
	where := fmt.Sprintf("%s on TCP %d", b.Host, b.Port)
	switch r.FailedPhase {
	case probes.PhaseResolve:
		return fmt.Sprintf("Make %s resolve on the VNet's DNS servers (a private DNS zone linked to the VNet for a private endpoint, or a conditional forwarder for its zone), so API Management's gateway finds it.", b.Host)
	case probes.PhaseConnect:
		if r.Reason == probes.ReasonRefused {
			return fmt.Sprintf("Nothing accepts connections at %s (%s): check the backend's URL and port, that it runs, and that no firewall rejects the subnet.", where, r.Dialled)
		}
		return fmt.Sprintf("Allow outbound TCP %d from the API Management subnet to %s in its NSG, route table and any firewall or appliance on the path (on-premises: the VPN or ExpressRoute routes and the on-premises firewall).", b.Port, where)
	case probes.PhaseTLS:
		switch r.Reason {
		case probes.ReasonTLSUntrusted:
			return fmt.Sprintf("The certificate of %s does not chain to a root this machine trusts: give the backend a certificate from a public CA, or upload its CA certificate to the instance (API Management validates backend certificates unless the backend disables the check).", b.Host)
		case probes.ReasonTLSNameMismatch:
			return fmt.Sprintf("The certificate of %s does not cover that name: reissue it for %s, or call the backend by a name it covers.", b.Host, b.Host)
		}
		return fmt.Sprintf("The TLS handshake with %s failed: check that it serves TLS on port %d, and that no firewall filtering by name cuts it.", where, b.Port)
	}
	return fmt.Sprintf("Check that %s answers HTTP at %s.", b.Host, b.URL)
}
