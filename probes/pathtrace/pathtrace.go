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

// How long a hop before the destination is given to answer, counted from
// when its own probe left: hopWaitRTTs times the slowest round trip seen in
// this trace (normally the destination's) plus hopWaitFloor.
//
// A router at TTL k < n lies on the way to the destination at TTL n, so its
// time exceeded travels part of the path the SYN and SYN-ACK travel in full:
// its round trip is at most the destination's, and the second round trip
// allows for a return path longer than the forward one and for queues. The
// floor is for what does not grow with distance: the router making the ICMP
// message (tens of microseconds in a Linux kernel, which is what the virtual
// appliances of a VNet run or sit on; a control plane that punts TTL expiry
// to a slower path, as hardware routers on-premises do, takes longer, and
// those sit behind a gateway where the round trip term grows with the path)
// and this machine's kernel handling it while both of its cores are busy
// (softirqs run ahead of any process; ksoftirqd takes over only under
// sustained load, and its slice is a few ms). It needs no margin for this
// process's own scheduling: each hop's clock starts when its SYN left, not
// when the trace began, and a probe whose wait ends looks at its socket once
// more, so an answer the kernel already holds is never lost because the
// goroutine that should read it had not run yet.
//
// The previous grace, 3 round trips + 100 ms after the destination's
// answer, was most of a healthy run: on Azure every hop before the
// destination is silent, so every trace paid it in full.
const (
	hopWaitRTTs  = 2
	hopWaitFloor = 5 * time.Millisecond
)

func hopWait(slowest time.Duration) time.Duration { return hopWaitRTTs*slowest + hopWaitFloor }

// probeFunc sends one TTL-limited probe; probeTTL is the real one.
type probeFunc func(ctx context.Context, dst netip.AddrPort, ttl int, sent func()) (Hop, error)

// Trace probes dst with TTL 1..maxTTL in parallel and returns one Hop per
// TTL. It returns when every TTL has an answer, when ctx ends, or shortly
// after the destination answered: a hop before it is nearer, so it answers
// within about the destination's own round trip of its probe leaving (see
// hopWait), and waiting longer for a silent one would only spend the check's
// budget. The error is the kernel refusing the probes (no IP_RECVERR, no
// socket); it is returned only when no TTL could be probed at all.
func Trace(ctx context.Context, dst netip.AddrPort, maxTTL int) ([]Hop, error) {
	hops, _, err := trace(ctx, dst, maxTTL, probeTTL)
	return hops, err
}

// trace is Trace with the probe given, and it also returns how long the
// silent hops before the destination were waited for after their probes
// left (0 when no hop had to be waited for).
func trace(ctx context.Context, dst netip.AddrPort, maxTTL int, probe probeFunc) ([]Hop, time.Duration, error) {
	if maxTTL < 1 {
		maxTTL = DefaultMaxTTL
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	answers := make(chan hopAnswer, maxTTL)
	departures := make(chan departure, maxTTL)
	var wg sync.WaitGroup
	for ttl := 1; ttl <= maxTTL; ttl++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := probe(ctx, dst, ttl, func() { departures <- departure{ttl, time.Now()} })
			h.TTL = ttl
			answers <- hopAnswer{h, err}
		}()
	}

	t := newTally(maxTTL)
	var wait time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due <-chan time.Time
	for pending := maxTTL; pending > 0; {
		select {
		case d := <-departures:
			t.sentAt[d.ttl-1] = d.at
		case a := <-answers:
			pending--
			t.take(a)
		case <-due:
			pending = 0
			continue
		case <-ctx.Done():
			pending = 0
			continue
		}
		if t.reachedAt == 0 {
			continue
		}
		// The hops before the destination still silent: the trace ends
		// when the last of them is due, or at once when none is left. One
		// whose probe has not left yet has no due time: wait for it.
		wait = hopWait(t.slowest)
		last, unsent := t.silentDue(wait)
		switch {
		case unsent:
			due = nil
		case last.IsZero():
			pending = 0
		default:
			timer.Reset(time.Until(last))
			due = timer.C
		}
	}
	timer.Stop()
	cancel()
	wg.Wait()
	// The probes still out looked at their sockets once more on the way
	// out; what they found counts.
	close(answers)
	for a := range answers {
		t.take(a)
	}
	if t.reachedAt == 0 || allAnswered(t.hops[:t.reachedAt-1]) {
		wait = 0
	}
	if len(t.errs) == maxTTL {
		return t.hops, wait, t.errs[0]
	}
	return t.hops, wait, nil
}

// hopAnswer is what one TTL's probe returned; departure is when it left.
type (
	hopAnswer struct {
		hop Hop
		err error
	}
	departure struct {
		ttl int
		at  time.Time
	}
)

// traceTally is a trace as its answers come in: the hops (silent until
// answered), when each probe left, which have returned, the first TTL
// that ends the path and the slowest answer.
type traceTally struct {
	hops      []Hop
	sentAt    []time.Time
	over      []bool // the probe returned: nothing more will come
	errs      []error
	reachedAt int
	slowest   time.Duration
}

func newTally(maxTTL int) *traceTally {
	t := &traceTally{hops: make([]Hop, maxTTL), sentAt: make([]time.Time, maxTTL), over: make([]bool, maxTTL)}
	for i := range t.hops {
		t.hops[i] = Hop{TTL: i + 1, Kind: Silent}
	}
	return t
}

func (t *traceTally) take(a hopAnswer) {
	t.over[a.hop.TTL-1] = true
	if a.err != nil {
		t.errs = append(t.errs, a.err)
		return
	}
	t.hops[a.hop.TTL-1] = a.hop
	if a.hop.answered() {
		t.slowest = max(t.slowest, a.hop.RTT)
	}
	// An unreachable ends the path as surely as an arrival: the higher
	// TTLs would meet the same refusal.
	if (a.hop.arrived() || a.hop.Kind == Unreachable) && (t.reachedAt == 0 || a.hop.TTL < t.reachedAt) {
		t.reachedAt = a.hop.TTL
	}
}

// silentDue is when the last hop before the destination still out is due,
// each waited for from when its probe left (zero when none is out), or
// unsent when one of them has not left yet.
func (t *traceTally) silentDue(wait time.Duration) (last time.Time, unsent bool) {
	for i := range t.reachedAt - 1 {
		switch {
		case t.over[i]:
		case t.sentAt[i].IsZero():
			unsent = true
		case t.sentAt[i].Add(wait).After(last):
			last = t.sentAt[i].Add(wait)
		}
	}
	return last, unsent
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
	// Family is the dependency family traced, and the check id's last
	// part: storage gives route.path.storage.
	Family probes.Dependency
	Host   string
	Port   int
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
			ID:       "route.path." + string(d.Family),
			Title:    "Appliances on the path to " + d.Host,
			Category: "Routing",
			Required: false,
			Kind:     probes.KindPath,
			Facets:   probes.Facets{Area: probes.AreaRoute, Role: probes.RolePathTrace, Dependency: d.Family, Protocol: probes.ProtoTCP},
			Target:   probes.HostPort(d.Host, d.Port),
			Why: "A firewall or proxy between the subnet and " + d.Host + " answers as a hop; Azure's own network does not. " +
				"Forced tunnelling through one works only when it lets the dependency through without TLS inspection.",
			Source: "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-forced-tunneling.md",
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
	addrs, failed := addresses(ctx, d, res, phases)
	if failed != nil {
		return *failed
	}
	// A DNS filter's sinkhole (0.0.0.0, loopback) is not the dependency:
	// tracing it would reach this machine at TTL 1 and read as a clean path.
	// An address given as the host is the operator's, not an answer.
	if _, lit := netip.ParseAddr(d.Host); lit != nil {
		if bad, ok := probes.SinkholeIn(res, addrs); ok {
			r := probes.SinkholeResult(d.Host, bad)
			r.Status = probes.Warn // a path check is a warning at most
			r.Phases, r.Addresses = phases, addrs
			return r
		}
	}
	ip, err := netip.ParseAddr(addrs[0])
	if err != nil {
		return probes.Failf(probes.ReasonError, probes.PhaseAnalysis, fmt.Sprintf("resolver returned %q, not an address", addrs[0]))
	}
	dst := netip.AddrPortFrom(ip.Unmap(), uint16(d.Port))

	t0 := time.Now()
	hops, wait, terr := trace(ctx, dst, opts.MaxTTL, probeTTL)
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
	if wait > 0 {
		ev["hop_wait_us"] = wait.Microseconds()
	}
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
	r := judge(d, dst, hops, wait, opts.Local, ev)
	if ctx.Err() != nil && r.Status != probes.Warn && !complete(hops) {
		if reason, msg := probes.Classify(ctx, ctx.Err()); reason == probes.ReasonDeadline {
			r = probes.Failf(reason, probes.PhaseAnalysis, msg)
			r.Hint = "Raise --deadline so that the run can finish its checks."
		}
	}
	return result(r)
}

// addresses are where the trace goes: the dependency's addresses as given
// (its host when that is an address), else its name looked up; when the
// lookup fails, failed is the check's result (the deadline's, or a skip:
// the dependency's own check reports its name).
func addresses(ctx context.Context, d Dependency, res probes.Resolver, phases map[string]int64) (addrs []string, failed *probes.Result) {
	if len(d.Addresses) > 0 {
		return d.Addresses, nil
	}
	if a, err := netip.ParseAddr(d.Host); err == nil {
		return []string{a.String()}, nil
	}
	t0 := time.Now()
	addrs, err := res.LookupHost(ctx, d.Host)
	phases["resolve_ms"] = time.Since(t0).Milliseconds()
	if err == nil && len(addrs) == 0 {
		err = &probes.DNSError{Outcome: probes.DNSNoData, Name: d.Host}
	}
	if err == nil {
		return addrs, nil
	}
	reason, msg := probes.Classify(ctx, err)
	if reason == probes.ReasonDeadline {
		r := probes.Failf(reason, probes.PhaseResolve, msg)
		r.Hint = "Raise --deadline so that the run can finish its checks."
		return nil, &r
	}
	// The dependency's own check reports the lookup's failure; the trace
	// had no address to go to (SPEC: skip, no-data).
	r := probes.Skipf(probes.ReasonNoData, "cannot trace the path: "+msg,
		"See the dependency's own check for why its name does not resolve; the path is traced once it does.")
	r.Phases, r.Evidence = phases, map[string]any{"cause": string(reason)}
	return nil, &r
}

// judge turns the hops into the check's result; ev receives what it found.
// wait is how long the silent hops before the destination were given after
// their probes left.
func judge(d Dependency, dst netip.AddrPort, hops []Hop, wait time.Duration, local []netip.Prefix, ev map[string]any) probes.Result {
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
		r.Appliance = appliance.Addr.String()
		return r
	case reachedAt != 0 && !allAnswered(hops[:reachedAt-1]):
		// A silent hop is unseen, not cleared. Azure's fabric never
		// answers as a hop, and neither does an appliance set not to or
		// one rate-limiting its replies (it answered the run before): the
		// path is not seen, which is not a pass (nor a warning).
		return probes.Skipf(probes.ReasonNotObservable, fmt.Sprintf(
			"reached %s at TTL %d, but %s before it: the path cannot be fully seen from here%s. "+
				"Azure's own network never answers as a hop; an appliance set not to answer, or rate-limiting its replies, looks the same",
			dst, reachedAt, describeBefore(hops[:reachedAt-1]), waitedText(wait)), checkRoutesHint)
	case reachedAt != 0:
		msg := fmt.Sprintf("reached %s at TTL %d", dst, reachedAt)
		if reachedAt == 1 {
			msg += ": no router between this VM and the destination decrements TTL, so no virtual appliance routes this traffic (a transparent proxy that answers in the destination's name would not show)"
		} else {
			msg += fmt.Sprintf("; %s before it, every one answering: no private device on the path", describeBefore(hops[:reachedAt-1]))
		}
		return probes.Passf(msg)
	case len(public) > 0 && !hops[0].answered():
		return probes.Skipf(probes.ReasonNotObservable, fmt.Sprintf(
			"hop 1 toward %s stayed silent before public routers (%s) answered: the first hops, where an appliance would sit, cannot be seen from here%s",
			dst, strings.Join(public, ", "), waitedText(wait)), checkRoutesHint)
	case len(public) > 0:
		return probes.Passf(fmt.Sprintf(
			"the first hops toward %s are public routers (%s), answering from hop 1: no private device answered within %d hops",
			dst, strings.Join(public, ", "), len(hops)))
	default:
		return probes.Skipf(probes.ReasonNotObservable, fmt.Sprintf(
			"no hop answered TTL-limited probes toward %s within %d hops and the destination did not answer either; the path cannot be seen from here (Azure's network and many firewalls stay silent)",
			dst, len(hops)), checkRoutesHint)
	}
}

// waitedText says how long silent hops were given, when they were waited for.
func waitedText(wait time.Duration) string {
	if wait <= 0 {
		return ""
	}
	return fmt.Sprintf(" (no answer within %v of each probe leaving, by when a router nearer than the destination answers)", wait.Round(100*time.Microsecond))
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
