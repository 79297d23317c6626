// Package resolver asks the DNS servers the VM could use — those in
// /etc/resolv.conf, any --dns-server, a local stub's upstreams, and Azure
// DNS — and keeps each one's answer, so that apimprobe can show where they
// disagree (a custom DNS server that does not forward to Azure DNS, a private
// zone that is not linked, a zone that swallows azure-api.net). The dns.*
// checks ask every server at once; the names the outbound probes dial ask
// the VM's own servers first and the others only when the VM's answer fails
// or is slow. The answers, cached once per run, are what the probes dial.
package resolver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// Role says why a server is asked: "vnet" servers are the ones the VM (and
// APIM in the same VNet) really uses; "upstream" servers are those a local
// stub resolver among them forwards to — the VNet's own DNS servers, asked
// beside the stub because they are what the instance uses; "azure" is Azure
// DNS, asked to compare.
type Role string

const (
	RoleVNet     Role = "vnet"
	RoleUpstream Role = "upstream"
	RoleAzure    Role = "azure"
)

// Server is one resolver in the set.
type Server struct {
	Addr netip.AddrPort
	Role Role
	// Source is where the server came from: SourceResolvConf, SourceFlag,
	// SourceSystemdResolved or SourceAzureDNS.
	Source string
}

// Stub says whether the server is a local stub resolver that this VM's
// applications ask (a loopback nameserver of resolv.conf: 127.0.0.53 and the
// like), not one of the VNet's. A --dns-server is what the operator names, on
// whatever address.
func (s Server) Stub() bool {
	return s.Role == RoleVNet && s.Source == SourceResolvConf && IsStub(s.Addr.Addr())
}

// Options builds a Set.
type Options struct {
	// ResolvConf supplies the VM's servers (role vnet) and its search, ndots,
	// timeout and attempts options. Nil means glibc's defaults and no servers.
	ResolvConf *ResolvConf
	// DNSServers are --dns-server values (role vnet: the operator naming the
	// VNet's resolver).
	DNSServers []netip.AddrPort
	// Upstreams are the servers the local stubs among the VM's servers
	// forward to (role upstream): asked beside the stubs, never in the VM's
	// own order (the VM asks the stub, not them); FindUpstreams finds them.
	Upstreams Upstreams
	// AzureDNS is --azure-dns (role azure); the zero value leaves it out.
	AzureDNS netip.AddrPort
	// Expect tells LookupDetail which addresses are private for this VNet;
	// nil knows nothing.
	Expect Expecter
	// Budget bounds a lookup whose first caller's ctx has no deadline.
	// Zero means 5s (SPEC's default --timeout).
	Budget time.Duration
}

// Set is an immutable list of resolvers with a per-run cache. It is safe for
// concurrent use: the first caller of a name that needs a server's answer
// starts the question to it; later callers share those answers, and no
// server is asked the same question twice in a run.
type Set struct {
	servers  []Server
	azure    int // index of the Azure DNS server, -1 if none
	conf     ResolvConf
	expect   Expecter
	budget   time.Duration
	mu       sync.Mutex
	cache    map[cacheKey]*entry
	hasVNets bool
	// upstreamsMissing says why the servers behind a local stub are not
	// in the set; "" when they are, or when there is no stub.
	upstreamsMissing string
	// ask is how questions about one name (one per type) are put to one
	// server: exchangeAll, on the network. Tests of the waiting logic give
	// an in-memory one, so that they run in virtual time.
	ask func(ctx context.Context, server netip.AddrPort, name string, qtypes []uint16, attempts int, perTry time.Duration) []answer
}

type cacheKey struct {
	name  string
	qtype uint16 // 0: a host lookup (A and AAAA, search list applied)
}

// entry is one question and each server's answer to it, for the servers
// asked so far. start and try let a reader imitate glibc, which moves on
// to the next server after one try's timeout.
type entry struct {
	key   cacheKey
	fs    []*future
	start time.Time
	try   time.Duration
	// changed, when not nil, is closed at the next answer to any of fs
	// and then cleared, so that one wait covers every server without a
	// goroutine each; it is made when someone waits (changes). Guarded
	// by the Set's mu.
	changed chan struct{}
}

type future struct {
	done chan struct{}
	view View
	// asked: the question has been put to this server (guarded by the
	// Set's mu); done closes only after.
	asked bool
}

var (
	_ probes.Resolver         = (*Set)(nil)
	_ probes.DetailedResolver = (*Set)(nil)
)

// New builds the set: resolv.conf servers, then --dns-server, then Azure DNS,
// each address once. When Azure DNS is also a VNet server (a VNet that uses
// Azure-provided DNS) it is asked once and counts as both.
func New(opts Options) (*Set, error) {
	s := &Set{azure: -1, expect: opts.Expect, budget: opts.Budget, cache: map[cacheKey]*entry{}, ask: exchangeAll}
	if s.expect == nil {
		s.expect = Fixed{}
	}
	if s.budget <= 0 {
		s.budget = defaultTimeout
	}
	s.conf = DefaultResolvConf()
	if opts.ResolvConf != nil {
		s.conf = *opts.ResolvConf
		s.conf.Servers = nil
		s.conf.Ndots = min(max(s.conf.Ndots, 0), maxNdots)
		if s.conf.Timeout <= 0 {
			s.conf.Timeout = defaultTimeout
		}
		s.conf.Attempts = min(max(s.conf.Attempts, 1), maxAttempts)
	}
	add := func(a netip.AddrPort, role Role, source string) error {
		if !a.IsValid() || a.Port() == 0 {
			return fmt.Errorf("DNS server %q is not a valid IP:PORT", a)
		}
		a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
		for i, have := range s.servers {
			if have.Addr == a {
				if role == RoleAzure {
					s.azure = i
				}
				return nil
			}
		}
		s.servers = append(s.servers, Server{Addr: a, Role: role, Source: source})
		switch role {
		case RoleAzure:
			s.azure = len(s.servers) - 1
		case RoleVNet:
			s.hasVNets = true
		}
		return nil
	}
	if opts.ResolvConf != nil {
		// The VM asks the first three (glibc's MAXNS), whoever parsed them.
		for _, a := range opts.ResolvConf.Servers[:min(len(opts.ResolvConf.Servers), maxNameservers)] {
			if err := add(a, RoleVNet, SourceResolvConf); err != nil {
				return nil, err
			}
		}
	}
	if len(opts.DNSServers) > MaxDNSServers {
		return nil, fmt.Errorf("%d DNS servers given, at most %d are accepted", len(opts.DNSServers), MaxDNSServers)
	}
	for _, a := range opts.DNSServers {
		if err := add(a, RoleVNet, SourceFlag); err != nil {
			return nil, err
		}
	}
	if len(opts.Upstreams.Servers) > MaxDNSServers {
		return nil, fmt.Errorf("%d upstream DNS servers, at most %d are asked", len(opts.Upstreams.Servers), MaxDNSServers)
	}
	for _, a := range opts.Upstreams.Servers {
		if err := add(a, RoleUpstream, cmp.Or(opts.Upstreams.Source, SourceSystemdResolved)); err != nil {
			return nil, err
		}
	}
	s.upstreamsMissing = opts.Upstreams.Missing
	if opts.AzureDNS.IsValid() {
		if err := add(opts.AzureDNS, RoleAzure, SourceAzureDNS); err != nil {
			return nil, err
		}
	}
	if len(s.servers) == 0 {
		return nil, errors.New("no DNS server to ask: resolv.conf lists none and neither --dns-server nor --azure-dns was given")
	}
	return s, nil
}

// Servers lists the resolvers in the order they are consulted.
func (s *Set) Servers() []Server { return slices.Clone(s.servers) }

// UpstreamsMissing says why the servers a local stub resolver forwards to
// could not be found (and so are not asked); "" when they were, or when the
// VM asks no stub.
func (s *Set) UpstreamsMissing() string { return s.upstreamsMissing }

// Expectation is what the set judges private answers against, as known now.
func (s *Set) Expectation() Expectation { return s.expect.Known() }

// View is one server's answer for one name.
type View struct {
	Server Server
	// Name is the name that was answered (after the search list).
	Name string
	// Rcode is the DNS response code; -1 when no answer came.
	Rcode int
	Addrs []netip.Addr
	// Chain is the CNAME chain from Name to the owner of the addresses; it
	// has one element when there is no CNAME.
	Chain     []string
	Transport string
	RTT       time.Duration
	// SOA is the zone's SOA from the answer or authority section, if any.
	SOA *dns.SOA
	// Err is a transport failure: timeout, refused, unreachable, or
	// answers that did not parse (errMalformed).
	Err error
	// Dropped counts the addresses of the answer beyond maxAddrs, not kept.
	Dropped int
	// ChainCut: the CNAME chain looped or went on past maxChain links, so
	// no address was reached.
	ChainCut bool

	qtype uint16
}

// Answered says whether the server gave a DNS answer the VM would accept and
// stop at (glibc moves on to the next server after SERVFAIL, REFUSED and
// silence, not after NXDOMAIN).
func (v View) Answered() bool {
	return v.Err == nil && (v.Rcode == dns.RcodeSuccess || v.Rcode == dns.RcodeNameError)
}

// Reason is SPEC's word for what this server said, before any judgement of
// the addresses themselves: the same word a probe that dials the name
// reports (both go through probes.Classify).
func (v View) Reason() probes.Reason {
	err := v.dnsErr()
	if err == nil {
		return probes.ReasonOK
	}
	r, _ := probes.Classify(context.Background(), err)
	return r
}

// chainCutText says what a cut chain was.
func (v View) chainCutText() string {
	return fmt.Sprintf("the CNAME chain of %s loops or goes on past %d links (…→ %s): no address at its end",
		v.Name, maxChain, v.Chain[len(v.Chain)-1])
}

// dnsErr is the view's failure as the resolver's outcome type, so that
// probes.Classify — the one place errors become reason words — names it;
// nil when the server gave addresses.
func (v View) dnsErr() error {
	e := &probes.DNSError{Name: v.Name, Server: v.Server.Addr.String(), Err: v.Err, Truncated: errors.Is(v.Err, errTCPRetry)}
	switch {
	case v.Err != nil && isTimeout(v.Err):
		e.Outcome = probes.DNSTimeout
	case v.Err != nil && errors.Is(v.Err, errMalformed):
		// The server answered, with something that is not DNS: a failing
		// server as far as the VM is concerned (glibc gives up on it too).
		e.Outcome = probes.DNSMalformed
	case v.Err != nil:
		e.Outcome = probes.DNSTransport
	case v.Rcode == dns.RcodeNameError:
		e.Outcome = probes.DNSNXDomain
	case v.Rcode != dns.RcodeSuccess:
		e.Outcome, e.Rcode = probes.DNSRcode, rcodeString(v.Rcode)
	case len(v.Addrs) == 0:
		e.Outcome = probes.DNSNoData
	default:
		return nil
	}
	return e
}

// Describe says in a few words what the server answered.
func (v View) Describe() string {
	switch v.Reason() {
	case probes.ReasonOK:
		s := joinAddrs(v.Addrs)
		if len(v.Chain) > 1 {
			s = strings.Join(v.Chain, " → ") + " → " + s
		}
		if v.Dropped > 0 {
			s += fmt.Sprintf(" (and %d more addresses, not kept)", v.Dropped)
		}
		return s
	case probes.ReasonNXDomain:
		return "NXDOMAIN"
	case probes.ReasonNoAnswer:
		if v.ChainCut {
			return v.chainCutText()
		}
		return "no address (NOERROR, no data)"
	case probes.ReasonServFail:
		if v.Err == nil {
			return rcodeString(v.Rcode)
		}
	case probes.ReasonDNSTimeout:
		return "no answer (timeout)"
	}
	_, msg := probes.Classify(context.Background(), v.dnsErr())
	return msg
}

func joinAddrs(as []netip.Addr) string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return strings.Join(ss, ", ")
}

// hedgeCap bounds how long the VM's own servers are left alone before the
// servers beside them are asked too (see hedge).
const hedgeCap = 250 * time.Millisecond

// hedge is how long a lookup lets the VM's own servers answer before it
// asks the servers beside them (Azure DNS, a stub's upstreams) as well: a
// quarter of one try, at most hedgeCap. A healthy VNet resolver answers in
// milliseconds, so a passing lookup never gets there and asks nobody else;
// a silent or slow one has not answered by then, and the others' questions
// still have three quarters of a try and every retry left, so their answer
// (what explains the silence: Azure DNS answers what the VNet's server
// does not) is in before the VM's own budget runs out.
func (e *entry) hedge() time.Duration { return min(hedgeCap, e.try/4) }

// deadline is when work started for ctx must end: its deadline, or Budget
// from now when it has none.
func (s *Set) deadline(ctx context.Context, now time.Time) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return now.Add(s.budget)
}

// entryFor returns the cache entry of a question, made on first use with
// no question asked yet. Its start and try are the first caller's: the
// VM's own servers are asked from then (start asks them at once).
func (s *Set) entryFor(ctx context.Context, key cacheKey) *entry {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[key]; ok {
		return e
	}
	// Everything a reader uses is set before the entry is published.
	e := &entry{key: key, fs: make([]*future, len(s.servers)), start: now,
		try: min(s.conf.Timeout, s.deadline(ctx, now).Sub(now)/time.Duration(s.conf.Attempts))}
	for i := range e.fs {
		e.fs[i] = &future{done: make(chan struct{})}
	}
	s.cache[key] = e
	return e
}

// start asks the servers of e that which selects and that have not been
// asked yet: a server is asked a question once per run, whoever needs its
// answer first. The work runs detached from the caller's cancellation
// (other callers share it) but within its deadline, or Budget when it has
// none.
func (s *Set) start(ctx context.Context, e *entry, which func(i int) bool) {
	var todo []int
	s.mu.Lock()
	for i, f := range e.fs {
		if !f.asked && which(i) {
			f.asked = true
			todo = append(todo, i)
		}
	}
	s.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	work, cancel := context.WithDeadline(context.WithoutCancel(ctx), s.deadline(ctx, time.Now()))
	// The last question of the batch to end releases its context.
	var left atomic.Int32
	left.Store(int32(len(todo)))
	release := func() {
		if left.Add(-1) == 0 {
			cancel()
		}
	}
	for _, i := range todo {
		f := e.fs[i]
		go func() {
			if e.key.qtype == 0 {
				f.view = s.lookupHost(work, s.servers[i], e.key.name)
			} else {
				f.view = s.query(work, s.servers[i], e.key.name, e.key.qtype)
			}
			s.complete(e, f)
			release()
		}()
	}
}

// complete publishes f's view: f.done closes, then whoever waits on any of
// e's answers (changes) wakes.
func (s *Set) complete(e *entry, f *future) {
	close(f.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.changed != nil {
		close(e.changed)
		e.changed = nil
	}
}

// changes returns a channel that closes at the next answer to any of e's
// questions. Taken before looking at the futures, it also closes for an
// answer that comes while the caller looks: an answer either is seen by
// the look or closes the channel.
func (s *Set) changes(e *entry) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.changed == nil {
		e.changed = make(chan struct{})
	}
	return e.changed
}

// every selects every server.
func every(int) bool { return true }

// own says whether server i is one the VM itself asks: a VNet server, or
// any server when the set has none (then Azure DNS is what it uses).
func (s *Set) own(i int) bool { return !s.hasVNets || s.servers[i].Role == RoleVNet }

// views returns the per-server futures for a question, asking every server
// that has not been asked yet.
func (s *Set) views(ctx context.Context, key cacheKey) *entry {
	e := s.entryFor(ctx, key)
	s.start(ctx, e, every)
	return e
}

// asked says which servers of e have been asked, as of now.
func (s *Set) asked(e *entry) []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bool, len(e.fs))
	for i, f := range e.fs {
		out[i] = f.asked
	}
	return out
}

// wait returns the future's view, or a pending view when ctx ends first.
func wait(ctx context.Context, f *future, srv Server, name string) View {
	select {
	case <-f.done:
		return f.view
	case <-ctx.Done():
		select {
		case <-f.done:
			return f.view
		default:
		}
		return View{Server: srv, Name: name, Rcode: -1, Err: errTimeout}
	}
}

// canonical lower-cases a name and keeps a trailing dot (absolute, no search
// list) only when the caller gave one.
func canonical(host string) string { return strings.ToLower(strings.TrimSpace(host)) }

// Comparison is every server's view of one name.
type Comparison struct {
	Host  string
	Views []View
	// Primary indexes the view the VM itself would use; -1 if none.
	Primary int
	// Azure indexes Azure DNS's view; -1 if Azure DNS is not in the set.
	Azure int
}

// Compare asks every server about host (A and AAAA, search list applied)
// and waits for all of them, or for ctx.
func (s *Set) Compare(ctx context.Context, host string) Comparison {
	name := canonical(host)
	fs := s.views(ctx, cacheKey{name: name}).fs
	c := Comparison{Host: strings.TrimSuffix(name, "."), Views: make([]View, len(fs)), Azure: s.azure}
	for i, f := range fs {
		c.Views[i] = wait(ctx, f, s.servers[i], c.Host)
	}
	c.Primary = s.primary(c.Views)
	return c
}

// primary picks the view the VM would use: the first VNet server that
// answers (NOERROR or NXDOMAIN), else the first VNet server; Azure DNS only
// when there are no VNet servers.
func (s *Set) primary(views []View) int {
	first := -1
	for i, v := range views {
		if s.hasVNets && s.servers[i].Role != RoleVNet {
			continue
		}
		if first < 0 {
			first = i
		}
		if v.Answered() {
			return i
		}
	}
	return first
}

// waitPrimary waits only as long as the VM would: glibc asks the servers
// in order and moves to the next one after one try's timeout, so server k's
// answer counts from k tries after the start. The first server in that order
// that answers is taken; a silent server does not hold up the others, and
// none is waited for once an answer is taken.
//
// Only the VM's own servers are asked at first. With explain, the servers
// beside them (Azure DNS, a stub's upstreams) are asked too when their
// view is needed: when the VM's answer failed (NXDOMAIN, SERVFAIL, no data,
// nothing) — what they say is what tells why — and when the VM's answer has
// not settled within the hedge, so that a silent or slow VNet server still
// has their view in time. A failed answer then waits for them, within ctx,
// because the diagnosis counts on every failed name having their view, not
// on which of them had answered by chance. A passing answer waits for none
// of them, and one that came before the hedge asks none of them.
//
// ranOut says ctx ended before the VM's own answer was settled.
func (s *Set) waitPrimary(ctx context.Context, host string, explain bool) (c Comparison, chosen int, ranOut bool) {
	name := canonical(host)
	e := s.entryFor(ctx, cacheKey{name: name})
	s.start(ctx, e, s.own)
	fs := e.fs
	c = Comparison{Host: strings.TrimSuffix(name, "."), Views: make([]View, len(fs)), Azure: s.azure, Primary: -1}
	var order []int
	for i := range fs {
		if s.own(i) {
			order = append(order, i)
		}
	}
	beside := func(i int) bool { return !s.own(i) }
	var hedge func()
	if explain && len(order) < len(fs) {
		hedge = func() { s.start(ctx, e, beside) }
	}
	chosen = s.settle(ctx, e, order, e.start.Add(e.hedge()), hedge)
	// Given up (the caller's time ran out, no server answered): a server
	// that has said nothing by now did not answer within the time it had,
	// which is a timeout, not "pending" (the future may close an instant
	// after ctx, at the same deadline). Every server having failed at once
	// is no timeout of the others.
	ranOut = chosen < 0 && ctx.Err() != nil
	failed := chosen < 0 || fs[chosen].view.Reason() != probes.ReasonOK
	if chosen < 0 && len(order) > 0 {
		chosen = order[0]
	}
	// The failed answer's explanation: the servers beside the VM's.
	waited := make([]bool, len(fs))
	if explain && failed && !ranOut {
		s.start(ctx, e, beside)
		for i, f := range fs {
			if s.own(i) {
				continue
			}
			waited[i] = true
			select {
			case <-f.done:
			case <-ctx.Done():
			}
		}
	}
	// Every view is shown as far as it got; a server not asked has none.
	asked := s.asked(e)
	for i, f := range fs {
		select {
		case <-f.done:
			c.Views[i] = f.view
			continue
		default:
		}
		err := errPending
		switch {
		case !asked[i]:
			err = errNotAsked
		case ctx.Err() != nil && (ranOut || waited[i]):
			err = errTimeout
		}
		c.Views[i] = View{Server: s.servers[i], Name: c.Host, Rcode: -1, Err: err}
	}
	c.Primary = chosen
	return c, chosen, ranOut
}

// pick returns the server of order the VM would take its answer from, or
// false while that is not settled yet; then turnEnds, when not zero, is
// when the server whose turn it is gives way to the next.
func (e *entry) pick(order []int) (chosen int, settled bool, turnEnds time.Time) {
	allDone := true
	for k, i := range order {
		f := e.fs[i]
		select {
		case <-f.done:
			if f.view.Answered() {
				return i, true, time.Time{}
			}
			continue
		default:
		}
		allDone = false
		if k == len(order)-1 {
			return -1, false, time.Time{} // the last server has all the time left
		}
		if end := e.start.Add(time.Duration(k+1) * e.try); time.Now().Before(end) {
			return -1, false, end // still this server's turn
		}
	}
	return -1, allDone, time.Time{}
}

// settle waits until pick settles and returns its server: -1 when every
// server failed without an answer, or ctx ended first. When hedge is not
// nil and pick has not settled by hedgeAt, hedge is called (once).
func (s *Set) settle(ctx context.Context, e *entry, order []int, hedgeAt time.Time, hedge func()) int {
	// Nothing changes pick's answer but a server's answer, the end of a
	// turn, or ctx: wait for those instead of polling. One channel tells
	// of any server's answer (changes), so the wait needs no goroutine.
	var changed <-chan struct{}
	var turn, hedged *time.Timer
	for {
		i, settled, turnEnds := e.pick(order)
		if settled {
			return i
		}
		if hedge != nil && !time.Now().Before(hedgeAt) {
			hedge()
			hedge = nil
		}
		if changed == nil {
			// Take the channel, then look again: an answer that came
			// after the first look is seen by the second or closes it.
			changed = s.changes(e)
			continue
		}
		if turn == nil {
			turn = time.NewTimer(time.Hour)
			defer turn.Stop()
			if hedge != nil {
				hedged = time.NewTimer(time.Until(hedgeAt))
				defer hedged.Stop()
			}
		}
		var turnC, hedgeC <-chan time.Time
		if !turnEnds.IsZero() {
			turn.Reset(time.Until(turnEnds))
			turnC = turn.C
		}
		if hedge != nil {
			hedgeC = hedged.C
		}
		select {
		case <-ctx.Done():
			return -1
		case <-changed:
			changed = nil
		case <-turnC:
		case <-hedgeC:
		}
	}
}

// errPending marks a server whose answer had not come when the caller moved on.
var errPending = errors.New("still waiting for this server when the answer was taken from another")

// errNotAsked marks a server that was not asked: the VM's own answer came
// without needing its view.
var errNotAsked = errors.New("not asked: the VM's own DNS server answered")

// LookupHost implements probes.Resolver: the addresses the VM itself would
// get, from the first VNet server that answers.
func (s *Set) LookupHost(ctx context.Context, host string) ([]string, error) {
	d, err := s.LookupDetail(ctx, host)
	return d.Addrs, err
}

// LookupDetail implements probes.DetailedResolver. Besides the VM's answer
// it returns every server's view as evidence and, when the answer itself is
// wrong — a privatelink CNAME (a private endpoint) that ends at a public
// address — a failed result for the probe to report instead of dialling.
func (s *Set) LookupDetail(ctx context.Context, host string) (probes.Detail, error) {
	c, i, ranOut := s.waitPrimary(ctx, host, true)
	// probes files this map under the check's evidence key "dns".
	exp := s.expect.Known()
	ev := map[string]any{"host": c.Host, "resolvers": c.Evidence(exp)}
	d := probes.Detail{Evidence: ev, Lookups: c.Lookups()}
	if i >= 0 {
		ev["chosen"] = s.servers[i].Addr.String()
		if ch := c.Views[i].Chain; len(ch) > 1 {
			ev["cname_chain"] = ch
		}
	}
	if i < 0 {
		return d, &probes.DNSError{Outcome: probes.DNSNoServer, Name: c.Host}
	}
	v := c.Views[i]
	if v.ChainCut && v.Reason() == probes.ReasonNoAnswer {
		// Not a name that does not exist: one whose chain never ends.
		r := probes.Failf(probes.ReasonNoAnswer, probes.PhaseResolve, v.chainCutText())
		r.Hint = fmt.Sprintf("Fix the CNAME records of %s on DNS server %s (a loop, or a chain too long to follow).", c.Host, v.Server.Addr.Addr())
		d.Problem = &r
		return d, nil
	}
	if v.Reason() != probes.ReasonOK {
		if ranOut && !v.Answered() && !errors.Is(v.Err, errMalformed) {
			// A name-resolution timeout, unless the run's deadline ended it
			// (probes.Classify looks at the run context first).
			return d, &probes.DNSError{Outcome: probes.DNSTimeout, Name: c.Host, Server: v.Server.Addr.String(), Err: ctx.Err(), Truncated: errors.Is(v.Err, errTCPRetry)}
		}
		return d, v.dnsErr()
	}
	d.Addrs = make([]string, len(v.Addrs))
	for j, a := range v.Addrs {
		d.Addrs[j] = a.String()
	}
	d.Problem = privateLinkProblem(exp, c, i)
	return d, nil
}
