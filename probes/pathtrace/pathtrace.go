// Package pathtrace looks for a virtual appliance between this subnet and
// each Azure dependency by sending TTL-limited TCP probes and recording which
// of the first hops answer. Azure's own network does not show up as hops, so
// a private address that answers within the first few hops is a device
// someone routed the traffic through (a firewall, a proxy, a VPN or
// ExpressRoute gateway on the way to on-premises). It gives the route.path.*
// checks; nothing it reports is guessed: when no hop answers, it says so.
package pathtrace

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// DefaultMaxTTL is how many hops are probed. An appliance in a hub sits one
// or two hops away; beyond four the answers come from the internet, which
// says nothing about the subnet's routing.
const DefaultMaxTTL = 4

// Kind is what answered a probe.
type Kind string

const (
	// TimeExceeded: a router on the path (the offender) dropped the probe
	// when its TTL ran out and said so.
	TimeExceeded Kind = "time-exceeded"
	// Unreachable: a device on the path refused to forward the probe.
	Unreachable Kind = "unreachable"
	// Reached: the destination accepted the connection at this TTL.
	Reached Kind = "reached"
	// Refused: the destination, or a device answering in its name, sent a
	// reset: it is at most this many hops away.
	Refused Kind = "refused"
	// Silent: nothing answered before the check's limit.
	Silent Kind = "silent"
)

// Hop is the answer to the probe with one TTL.
type Hop struct {
	TTL  int
	Kind Kind
	// Addr is who answered: the ICMP sender, or the destination.
	Addr               netip.Addr
	RTT                time.Duration
	ICMPType, ICMPCode uint8
	errno              syscall.Errno
}

func (h Hop) answered() bool { return h.Kind != Silent }
func (h Hop) arrived() bool  { return h.Kind == Reached || h.Kind == Refused }

// Trace probes dst with TTL 1..maxTTL in parallel and returns one Hop per
// TTL. It returns when every TTL has an answer, when ctx ends, or shortly
// after the destination answered: the hops before it answer sooner than the
// destination does, so once it has answered and a few of its round trips
// have passed, waiting longer for the silent ones would only spend the
// check's budget. The error is the kernel refusing the probes (no IP_RECVERR,
// no socket); it is returned only when no TTL could be probed at all.
func Trace(ctx context.Context, dst netip.AddrPort, maxTTL int) ([]Hop, error) {
	if maxTTL < 1 {
		maxTTL = DefaultMaxTTL
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type answer struct {
		hop Hop
		err error
	}
	answers := make(chan answer, maxTTL)
	var wg sync.WaitGroup
	for ttl := 1; ttl <= maxTTL; ttl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := probeTTL(ctx, dst, ttl)
			h.TTL = ttl
			answers <- answer{h, err}
		}()
	}

	hops := make([]Hop, maxTTL)
	for i := range hops {
		hops[i] = Hop{TTL: i + 1, Kind: Silent}
	}
	var errs []error
	var grace <-chan time.Time
	reachedAt := 0
	for got := 0; got < maxTTL; {
		select {
		case a := <-answers:
			got++
			if a.err != nil {
				errs = append(errs, a.err)
				continue
			}
			hops[a.hop.TTL-1] = a.hop
			// An unreachable ends the path as surely as an arrival: the
			// higher TTLs would meet the same refusal.
			if (a.hop.arrived() || a.hop.Kind == Unreachable) && (reachedAt == 0 || a.hop.TTL < reachedAt) {
				reachedAt = a.hop.TTL
				grace = time.After(3*a.hop.RTT + 100*time.Millisecond)
			}
			if reachedAt != 0 && allAnswered(hops[:reachedAt-1]) {
				got = maxTTL
			}
		case <-grace:
			got = maxTTL
		case <-ctx.Done():
			got = maxTTL
		}
	}
	cancel()
	wg.Wait()
	if len(errs) == maxTTL {
		return hops, errs[0]
	}
	return hops, nil
}

// complete tells whether every hop up to the destination (or every hop, when
// it was not reached) answered, so that nothing was left to wait for.
func complete(hops []Hop) bool {
	for _, h := range hops {
		if h.arrived() {
			return allAnswered(hops[:h.TTL-1])
		}
	}
	return allAnswered(hops)
}

func allAnswered(hs []Hop) bool {
	for _, h := range hs {
		if !h.answered() {
			return false
		}
	}
	return true
}

// Dependency is one destination whose path is traced.
type Dependency struct {
	// ID is the check id's last part: "storage" gives route.path.storage.
	ID   string
	Host string
	Port int
	// Addresses are the already resolved addresses; when empty the
	// check resolves Host itself.
	Addresses []string
	// Required marks a dependency API Management cannot work without; it
	// only sharpens the hint, the check itself stays a warning (SPEC:
	// forced tunnelling is supported when configured right).
	Required bool
}

// Options tune the checks.
type Options struct {
	// MaxTTL is how many hops are probed (default DefaultMaxTTL).
	MaxTTL int
	// Local are the VNet's (or subnet's) prefixes. A hop inside them is an
	// appliance even when the VNet uses public address space; the private
	// ranges (RFC 1918, 100.64.0.0/10, fc00::/7) count as well.
	Local []netip.Prefix
}

// NewChecks builds one route.path.<id> check per dependency. res resolves
// names for dependencies given without addresses; nil means Go's resolver.
func NewChecks(deps []Dependency, res probes.Resolver, opts Options) []probes.Check {
	if res == nil {
		res = net.DefaultResolver
	}
	if opts.MaxTTL < 1 {
		opts.MaxTTL = DefaultMaxTTL
	}
	checks := make([]probes.Check, 0, len(deps))
	for _, d := range deps {
		checks = append(checks, probes.Check{
			ID:       "route.path." + d.ID,
			Title:    "Appliances on the path to " + d.Host,
			Category: "Routing",
			Required: false,
			Kind:     "path",
			Target:   probes.HostPort(d.Host, d.Port),
			Why: "A firewall or proxy between the subnet and " + d.Host + " answers as a hop; Azure's own network does not. " +
				"Forced tunnelling through one works only when it lets the dependency through without TLS inspection.",
			Source: "learn.microsoft.com api-management virtual network forced tunneling",
			Probe: probes.ProbeFunc(func(ctx context.Context) probes.Result {
				start := time.Now()
				r := run(ctx, d, res, opts)
				r.Duration = time.Since(start)
				return r
			}),
		})
	}
	return checks
}

func run(ctx context.Context, d Dependency, res probes.Resolver, opts Options) probes.Result {
	phases := map[string]int64{}
	addrs := d.Addresses
	if len(addrs) == 0 {
		if a, err := netip.ParseAddr(d.Host); err == nil {
			addrs = []string{a.String()}
		} else {
			t0 := time.Now()
			addrs, err = res.LookupHost(ctx, d.Host)
			phases["resolve_ms"] = time.Since(t0).Milliseconds()
			if err == nil && len(addrs) == 0 {
				err = &net.DNSError{Err: "no addresses", Name: d.Host, IsNotFound: true}
			}
			if err != nil {
				reason, msg := probes.Classify(ctx, err)
				if reason == probes.ReasonDeadline {
					r := probes.Failf(reason, probes.PhaseResolve, msg)
					r.Hint = "Raise --deadline so that the run can finish its checks."
					return r
				}
				r := probes.Skipf(reason, "cannot trace the path: "+msg, "")
				r.Phases = phases
				return r
			}
		}
	}
	ip, err := netip.ParseAddr(addrs[0])
	if err != nil {
		return probes.Failf(probes.ReasonError, probes.PhaseAnalysis, fmt.Sprintf("resolver returned %q, not an address", addrs[0]))
	}
	dst := netip.AddrPortFrom(ip.Unmap(), uint16(d.Port))

	t0 := time.Now()
	hops, terr := Trace(ctx, dst, opts.MaxTTL)
	phases["trace_ms"] = time.Since(t0).Milliseconds()
	// Hops past the destination say nothing about the path; they are left
	// out of the evidence rather than shown as silent.
	shown := hops
	for _, h := range hops {
		if h.arrived() {
			shown = hops[:h.TTL]
			break
		}
	}
	ev := map[string]any{"destination": dst.String(), "hops": hopEvidence(shown), "max_ttl": opts.MaxTTL}
	result := func(r probes.Result) probes.Result {
		r.Phases, r.Addresses, r.Evidence = phases, addrs, ev
		return r
	}

	if terr != nil {
		return result(probes.Skipf(probes.ReasonNotObservable,
			"could not send TTL-limited probes ("+terr.Error()+"); the path cannot be seen from here",
			checkRoutesHint))
	}

	// A run deadline that cut the trace short is never a pass (SPEC); an
	// appliance that answered before it is still worth reporting, and a
	// trace that had every answer it needed is complete.
	r := judge(d, dst, hops, opts.Local, ev)
	if ctx.Err() != nil && r.Status != probes.Warn && !complete(hops) {
		if reason, msg := probes.Classify(ctx, ctx.Err()); reason == probes.ReasonDeadline {
			r = probes.Failf(reason, probes.PhaseAnalysis, msg)
			r.Hint = "Raise --deadline so that the run can finish its checks."
		}
	}
	return result(r)
}

// judge turns the hops into the check's result; ev receives what it found.
func judge(d Dependency, dst netip.AddrPort, hops []Hop, local []netip.Prefix, ev map[string]any) probes.Result {
	reachedAt := 0
	for _, h := range hops {
		if h.arrived() {
			reachedAt = h.TTL
			break
		}
	}
	if reachedAt != 0 {
		ev["reached_at_ttl"] = reachedAt
	}
	var appliance *Hop
	var public []string
	for i, h := range hops {
		if reachedAt != 0 && h.TTL >= reachedAt {
			break
		}
		if h.answered() && h.Addr.IsValid() && h.Addr != dst.Addr() {
			if isLocal(h.Addr, local) {
				if appliance == nil {
					appliance = &hops[i]
				}
			} else {
				public = append(public, h.Addr.String())
			}
		}
	}

	switch {
	case appliance != nil:
		ev["appliance"] = appliance.Addr.String()
		ev["appliance_ttl"] = appliance.TTL
		what := "forwards"
		if appliance.Kind == Unreachable {
			what = "refuses to forward"
		}
		r := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, fmt.Sprintf(
			"a device at %s (hop %d, inside the VNet or a private range) %s traffic to %s: a virtual appliance or gateway is in the path, since Azure's own network does not answer as a hop",
			appliance.Addr, appliance.TTL, what, dst))
		r.Hint = fmt.Sprintf("Make sure the appliance at %s allows %s without TLS inspection, or route the service around it "+
			"(a service endpoint, or a route for its service tag with next hop Internet); for classic tiers also add a route ApiManagement → Internet.",
			appliance.Addr, net.JoinHostPort(d.Host, strconv.Itoa(d.Port)))
		return r
	case reachedAt != 0:
		msg := fmt.Sprintf("reached %s at TTL %d", dst, reachedAt)
		if reachedAt == 1 {
			msg += ": no router between this VM and the destination decrements TTL, so no virtual appliance routes this traffic (a transparent proxy that answers in the destination's name would not show)"
		} else {
			msg += fmt.Sprintf("; %s before it: no private device answered", describeBefore(hops[:reachedAt-1]))
		}
		return probes.Passf(msg)
	case len(public) > 0:
		return probes.Passf(fmt.Sprintf(
			"the first hops that answered toward %s are public routers (%s); no private device answered within %d hops",
			dst, strings.Join(public, ", "), len(hops)))
	default:
		return probes.Skipf(probes.ReasonNotObservable, fmt.Sprintf(
			"no hop answered TTL-limited probes toward %s within %d hops and the destination did not answer either; the path cannot be seen from here (Azure's network and many firewalls stay silent)",
			dst, len(hops)), checkRoutesHint)
	}
}

const checkRoutesHint = "Check the subnet's effective routes (az network nic show-effective-route-table) for a 0.0.0.0/0 or service route whose next hop is a virtual appliance or gateway."

func describeBefore(hs []Hop) string {
	silent := 0
	var pub []string
	for _, h := range hs {
		if !h.answered() {
			silent++
		} else {
			pub = append(pub, h.Addr.String())
		}
	}
	var parts []string
	if silent > 0 {
		parts = append(parts, fmt.Sprintf("%d silent hop(s)", silent))
	}
	if len(pub) > 0 {
		parts = append(parts, "public router(s) "+strings.Join(pub, ", "))
	}
	return strings.Join(parts, " and ")
}

// private ranges a VNet commonly uses. Whether an address is the VNet's is
// judged against the VNet's prefixes first (Options.Local); these cover the
// on-premises and hub ranges a tunnel leads to.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

func isLocal(a netip.Addr, local []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range local {
		if p.Contains(a) {
			return true
		}
	}
	for _, p := range privateRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func hopEvidence(hops []Hop) []map[string]any {
	out := make([]map[string]any, 0, len(hops))
	for _, h := range hops {
		m := map[string]any{"ttl": h.TTL, "kind": string(h.Kind)}
		if h.Addr.IsValid() {
			m["address"] = h.Addr.String()
			m["rtt_ms"] = h.RTT.Milliseconds()
		}
		if h.errno != 0 {
			m["socket_error"] = h.errno.Error()
		}
		if h.Kind == Unreachable {
			m["icmp_type"], m["icmp_code"] = h.ICMPType, h.ICMPCode
		}
		out = append(out, m)
	}
	return out
}
