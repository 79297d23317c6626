// Package egress finds out, from the wire, which public address this subnet's
// internet-bound traffic leaves from, and whether that address belongs to
// Azure's edge. It asks an HTTPS echo service for the caller's address and
// compares the answer with the VM's public IP, the prefixes the operator
// expects (a NAT gateway, a public IP prefix) and the AzureCloud service-tag
// prefixes. An address outside all of them means a forced tunnel: traffic
// leaves through an on-premises network or a third-party proxy.
package egress

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/probes"
)

// CheckID is the SPEC id of the egress check.
const CheckID = "route.egress-ip"

// DefaultEchoURL is a well-known public echo service that answers with the
// caller's address in plain text. It is only a default for the flag; tests
// and labs point --egress-echo-url at their own.
const DefaultEchoURL = "https://api.ipify.org"

// MaxAnswer caps how much of the echo answer is read. An address, even as
// JSON with a few extra fields, is far below it; anything larger is not an
// echo service (a block page, a captive portal) and is not read further.
const MaxAnswer = 4 << 10

// Config is everything the check needs. Zero values mean "not known".
type Config struct {
	// EchoURL is the HTTPS echo service (--egress-echo-url).
	EchoURL string
	// Off is --no-egress: the check is reported as skipped and sends nothing.
	Off bool
	// Expected are the --expect-egress prefixes.
	Expected []netip.Prefix
	// VMPublicIP is the VM's public IP from IMDS, when it has one.
	VMPublicIP netip.Addr
	// TagPrefixes are the AzureCloud service-tag prefixes, when loaded.
	TagPrefixes []netip.Prefix
	// Tags, when set, gives the AzureCloud prefixes instead, and is asked
	// only when the answer needs them: Resource Manager may still be
	// reading them, and the echo must not wait for that before it is asked.
	Tags func() []netip.Prefix
	// Mode is --mode: what the egress address means depends on it.
	Mode probes.Mode
	// Resolver resolves the echo host; nil means Go's resolver.
	Resolver probes.Resolver
	// RootCAs verifies the echo service; nil means the system roots, which
	// Go reads from SSL_CERT_FILE / SSL_CERT_DIR when they are set.
	RootCAs *x509.CertPool
}

// ValidateEchoURL rejects an --egress-echo-url the check cannot use, with a
// one-line error for the CLI.
func ValidateEchoURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--egress-echo-url %q: not a URL", probes.ScrubURL(raw))
	}
	if u.Scheme != "https" {
		return fmt.Errorf("--egress-echo-url %q: must be an https:// URL (the answer must come over verified TLS)", probes.ScrubURL(raw))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("--egress-echo-url %q: has no host", probes.ScrubURL(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("--egress-echo-url %q: bad port %q", probes.ScrubURL(raw), p)
		}
	}
	if u.User != nil {
		return fmt.Errorf("--egress-echo-url %q: must not carry credentials", probes.ScrubURL(raw))
	}
	return nil
}

// ParseExpect parses the --expect-egress values. Each is a CIDR; a bare
// address is accepted as the single-address prefix an operator means when
// naming a NAT gateway's public IP.
func ParseExpect(values []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("--expect-egress %q: not a CIDR (expected e.g. 203.0.113.0/28)", v)
	}
	return out, nil
}

// ParseAnswer reads the echo service's answer: a bare address with optional
// white space (`203.0.113.9\n`), or a JSON object with the address under
// "ip" (ipify, ifconfig.co) or "origin" (httpbin).
func ParseAnswer(body []byte) (netip.Addr, error) {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return netip.Addr{}, errors.New("the echo answer is empty")
	}
	if strings.HasPrefix(s, "{") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return netip.Addr{}, fmt.Errorf("the echo answer looks like JSON but does not parse: %v", err)
		}
		for _, key := range []string{"ip", "origin", "address"} {
			if v, ok := obj[key].(string); ok {
				return parseIP(v)
			}
		}
		return netip.Addr{}, fmt.Errorf("the echo answer is JSON without an \"ip\" field: %s", quote(s))
	}
	return parseIP(s)
}

func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("the echo answer is not an IP address: %s", quote(s))
	}
	return a.Unmap(), nil
}

// quote shows at most 64 bytes of an untrusted answer, safely.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		return strconv.Quote(s) + "…"
	}
	return strconv.Quote(s)
}

// NewCheck builds the route.egress-ip check.
func NewCheck(cfg Config) probes.Check {
	c := probes.Check{
		ID:       CheckID,
		Title:    "Public address of internet-bound traffic",
		Category: "Routing",
		Required: false,
		Kind:     probes.KindHTTP,
		Facets:   probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho, ServiceTag: "Internet", Protocol: probes.ProtoTCP},
		Target:   probes.URLTarget(cfg.EchoURL),
		Why: "Internet-bound traffic that leaves from an address outside Azure's edge goes through a forced tunnel " +
			"(on-premises or a third-party proxy); API Management supports that only when every dependency " +
			"and the management return path are routed around it.",
		Source: "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-forced-tunneling.md",
	}
	if cfg.Off {
		r := probes.Skipf(probes.ReasonNotApplicable, "turned off with --no-egress", "")
		c.Preset = &r
		return c
	}
	c.Probe = probes.ProbeFunc(cfg.run)
	return c
}

func (cfg Config) run(ctx context.Context) probes.Result {
	start := time.Now()
	r := cfg.echo(ctx)
	r.Duration = time.Since(start)
	if r.Evidence == nil {
		r.Evidence = map[string]any{}
	}
	r.Evidence["echo_url"] = probes.URLTarget(cfg.EchoURL).URL
	return r
}

// echo asks the echo service with the project's one HTTP probe (resolve,
// dial the first address, verify TLS, capped body) and judges the answer.
// The judge reads one byte past MaxAnswer so that an oversized answer is
// told apart from one that just fits.
func (cfg Config) echo(ctx context.Context) probes.Result {
	if ValidateEchoURL(cfg.EchoURL) != nil {
		// The CLI validates first; reaching this is a wiring bug.
		return probes.Failf(probes.ReasonError, probes.PhaseAnalysis, fmt.Sprintf("unusable echo URL %q", probes.Untrusted(cfg.EchoURL, 0)))
	}
	judged := false
	p := probes.HTTP{
		URL:      cfg.EchoURL,
		Header:   http.Header{"Accept": {"text/plain, application/json"}},
		Resolver: cfg.Resolver,
		RootCAs:  cfg.RootCAs,
		MaxBody:  MaxAnswer + 1,
		// The address must come from the service named, over verified
		// TLS: a redirect is an answer that is not an address.
		MaxRedirects: -1,
		Expect: func(status int, _ http.Header, body []byte) *probes.Result {
			judged = true
			r := cfg.judgeAnswer(status, body)
			return &r
		},
	}
	r := p.Run(ctx)
	if !judged {
		return unlearnt(r)
	}
	return r
}

// judgeAnswer turns the echo's HTTP answer into the check's verdict.
func (cfg Config) judgeAnswer(status int, body []byte) probes.Result {
	switch {
	case status != http.StatusOK:
		return skipped(probes.ReasonHTTPStatus, fmt.Sprintf("the echo service answered HTTP %d, not an address", status))
	case len(body) > MaxAnswer:
		return skipped(probes.ReasonHTTPBody, fmt.Sprintf("the echo answer is larger than %d bytes: not an echo service (a block page or captive portal?)", MaxAnswer))
	}
	ip, err := ParseAnswer(body)
	if err != nil {
		return skipped(probes.ReasonHTTPBody, err.Error()+" (a block page or captive portal?)")
	}
	return cfg.Judge(ip)
}

// skipped: the echo answered, but not with an address. SPEC allows a skip
// only for missing data, so the skip is no-data and what was seen is kept
// as its cause.
func skipped(cause probes.Reason, msg string) probes.Result {
	r := probes.Skipf(probes.ReasonNoData, "could not learn the egress address: "+msg,
		"Point --egress-echo-url at an HTTPS service that answers with the caller's IP address, or turn the check off with --no-egress.")
	r.Evidence = map[string]any{"cause": string(cause)}
	return r
}

// unlearnt reports that the echo service could not be asked. Not knowing the
// egress address is not a fault of the subnet, so it is a skip with the wire
// reason, phase and evidence the probe found — except when the run's deadline
// cut it, which SPEC makes a fail.
func unlearnt(r probes.Result) probes.Result {
	r.Message = "cannot ask the echo service: " + r.Message
	if r.Reason == probes.ReasonDeadline {
		r.Status = probes.Fail
		r.Hint = "Raise --deadline so that the run can finish its checks."
		return r
	}
	if r.Reason == probes.ReasonWrongAnswer && r.FailedPhase == probes.PhaseResolve {
		// A DNS filter sinkholes the echo service: that is what was seen,
		// not an absence of data (an optional check: a warning).
		r.Status = probes.Warn
		return r
	}
	if r.Reason == probes.ReasonTLSUntrusted {
		r.Message += " (a TLS-inspecting proxy whose CA this machine does not trust looks like this)"
	}
	// Not knowing the address is missing data (SPEC: a skip is no-data);
	// the wire's own word stays in the evidence.
	if r.Evidence == nil {
		r.Evidence = map[string]any{}
	}
	r.Evidence["cause"], r.Evidence["cause_phase"] = string(r.Reason), string(r.FailedPhase)
	r.Status, r.Reason, r.FailedPhase = probes.Skip, probes.ReasonNoData, probes.PhaseNone
	r.Hint = "Allow outbound HTTPS to the echo service, point --egress-echo-url at one that is reachable, or turn the check off with --no-egress."
	return r
}

// Judge compares the egress address with what it should be. It is the whole
// decision of the check, separate from the wire so that tests can drive it.
func (cfg Config) Judge(ip netip.Addr) probes.Result {
	ip = ip.Unmap()
	ev := map[string]any{}
	withEvidence := func(r probes.Result, ev map[string]any) probes.Result {
		r.Evidence, r.EgressIP = ev, ip.String()
		return r
	}
	var compared []string
	if cfg.VMPublicIP.IsValid() {
		compared = append(compared, "vm public ip "+cfg.VMPublicIP.Unmap().String())
		if cfg.VMPublicIP.Unmap() == ip {
			ev["matched"] = "vm-public-ip"
			ev["compared_with"] = compared
			return withEvidence(probes.Passf(fmt.Sprintf("internet-bound traffic leaves from %s, this VM's public IP: it leaves through Azure's edge", ip)), ev)
		}
	}
	if len(cfg.Expected) > 0 {
		compared = append(compared, "--expect-egress "+joinPrefixes(cfg.Expected))
		for _, p := range cfg.Expected {
			if p.Contains(ip) {
				ev["matched"] = "expect-egress " + p.String()
				ev["compared_with"] = compared
				return withEvidence(probes.Passf(fmt.Sprintf("internet-bound traffic leaves from %s, inside --expect-egress %s", ip, p)), ev)
			}
		}
	}
	tags := cfg.TagPrefixes
	if cfg.Tags != nil {
		tags = cfg.Tags()
	}
	if len(tags) > 0 {
		n := len(tags)
		compared = append(compared, fmt.Sprintf("AzureCloud service tag (%d prefix%s)", n, map[bool]string{true: "es"}[n != 1]))
		for _, p := range tags {
			if p.Contains(ip) {
				ev["matched"] = "service-tag AzureCloud " + p.String()
				ev["compared_with"] = compared
				// An Azure Firewall or NAT gateway also leaves from an
				// AzureCloud address: this proves Azure's edge, not the
				// absence of an appliance (route.path.* says that).
				return withEvidence(probes.Passf(fmt.Sprintf(
					"internet-bound traffic leaves from %s, an Azure address (AzureCloud %s): it leaves through Azure's edge", ip, p)), ev)
			}
		}
	}
	if len(compared) == 0 {
		r := probes.Skipf(probes.ReasonNoData,
			fmt.Sprintf("internet-bound traffic leaves from %s; nothing to compare it with (no public IP from IMDS, no --expect-egress, no service tags), so whether that is Azure's edge is unknown", ip),
			"Pass the NAT gateway or public IP prefix the subnet should leave from with --expect-egress, or load service tags with --service-tags.")
		return withEvidence(r, ev)
	}
	ev["compared_with"] = compared
	r := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, fmt.Sprintf(
		"internet-bound traffic leaves from %s, which is none of %s: it leaves through something other than Azure's edge (a forced tunnel to on-premises or a third-party proxy). %s",
		ip, strings.Join(compared, ", "), modeMeaning(cfg.Mode)))
	r.Hint = modeHint(cfg.Mode)
	ev["mode"] = cfg.Mode
	return withEvidence(r, ev)
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// modeMeaning says what a forced tunnel does to an instance in this mode.
func modeMeaning(mode probes.Mode) string {
	switch mode {
	case probes.ModeExternal:
		return "In external mode, replies to clients calling the gateway's public address would leave through the tunnel and be dropped, so client traffic breaks; dependencies and the management return path are at risk too."
	case probes.ModeV2Injected:
		return "With Premium v2 VNet injection, every dependency must be allowed through the tunnel's firewall; the outbound checks say whether it is."
	case probes.ModeV2Integrated:
		return "With v2 outbound VNet integration, routing through a firewall is supported as long as it lets the dependencies through; the outbound checks say whether it does."
	default:
		return "In internal mode, the dependencies (Storage, SQL, Key Vault, Monitor) and the return path of management traffic on port 3443 are at risk."
	}
}

func modeHint(mode probes.Mode) string {
	const expect = " If the subnet is meant to leave through your own NAT or public IP prefix, name it with --expect-egress."
	switch mode {
	case probes.ModeExternal:
		return "Add a route ApiManagement → Internet and routes for client address ranges to Internet in the subnet's route table (or remove the 0.0.0.0/0 route to the appliance or gateway), so that replies do not enter the tunnel." + expect
	case probes.ModeV2Injected, probes.ModeV2Integrated:
		return "Make sure the firewall the subnet's 0.0.0.0/0 route leads to allows every API Management dependency without TLS inspection." + expect
	default:
		return "If forced tunnelling is intended, add a route ApiManagement → Internet in the subnet's route table and allow every dependency through the appliance (or use service endpoints); otherwise remove the 0.0.0.0/0 route that sends traffic away from the Internet next hop." + expect
	}
}
