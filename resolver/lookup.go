package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxChain bounds CNAME chasing; real chains through privatelink and Traffic
// Manager are 3–5 long, and a loop must end.
const maxChain = 10

// maxAddrs bounds the addresses kept from one answer (A and AAAA together):
// a real service answers a handful, and a name with thousands of records
// made a report of megabytes. How many were dropped is kept and shown.
const maxAddrs = 16

// candidates applies resolv.conf's search list and ndots the way glibc does:
// a name with fewer dots than ndots is tried with each search domain first,
// then as given; a name with a trailing dot is only tried as given.
func (s *Set) candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	abs := name + "."
	if len(s.conf.Search) == 0 {
		return []string{abs}
	}
	var out []string
	searchFirst := strings.Count(name, ".") < s.conf.Ndots
	if !searchFirst {
		out = append(out, abs)
	}
	for _, d := range s.conf.Search {
		if d != "" {
			out = append(out, name+"."+d+".")
		}
	}
	if searchFirst {
		out = append(out, abs)
	}
	return out
}

// lookupHost is one server's answer for a host name: A and AAAA at once,
// each following its CNAME chain, over the search-list candidates in order
// until one is not NXDOMAIN, empty or SERVFAIL. glibc's res_search goes on
// to the next candidate after SERVFAIL too (a later one may answer); when
// none answers, the SERVFAIL is what is reported, not a later NXDOMAIN,
// because the server failing is what needs fixing.
func (s *Set) lookupHost(ctx context.Context, srv Server, name string) View {
	var v View
	var servfail *View
	for _, cand := range s.candidates(name) {
		v = s.chaseBoth(ctx, srv, cand)
		if v.Err == nil && v.Rcode == dns.RcodeServerFailure {
			if servfail == nil {
				first := v
				servfail = &first
			}
			continue
		}
		if v.Err != nil || (v.Rcode == dns.RcodeSuccess && len(v.Addrs) > 0) ||
			(v.Rcode != dns.RcodeSuccess && v.Rcode != dns.RcodeNameError) {
			break
		}
	}
	if servfail != nil && !(v.Err == nil && v.Rcode == dns.RcodeSuccess && len(v.Addrs) > 0) {
		v = *servfail
	}
	v.Name = strings.TrimSuffix(v.Name, ".")
	for i := range v.Chain {
		v.Chain[i] = strings.TrimSuffix(v.Chain[i], ".")
	}
	return v
}

// merge joins the A and AAAA views: the addresses of both, and the most
// telling status. An answer with addresses beats everything; then a failure
// (a timeout, a truncated answer whose TCP retry stalled) beats an empty
// answer, as glibc's getaddrinfo says "try again" rather than "no such
// name" when one of the two questions got no answer: the empty answer
// beside it says nothing about the other type's records. An empty answer
// (NODATA, NXDOMAIN) beats another rcode (SERVFAIL).
func merge(a, b View) View {
	if a.Server.Addr != b.Server.Addr {
		return a
	}
	rank := func(v View) int {
		switch {
		case v.Err == nil && v.Rcode == dns.RcodeSuccess && len(v.Addrs) > 0:
			return 3
		case v.Err != nil:
			return 2
		case v.Rcode == dns.RcodeSuccess || v.Rcode == dns.RcodeNameError:
			return 1
		}
		return 0
	}
	// Keep the A query's order first: IPv4 is what APIM's VIPs use.
	if a.Question() != dns.TypeA {
		a, b = b, a
	}
	out := a
	if rank(b) > rank(a) {
		out = b
	}
	out.Addrs = append(append([]netip.Addr{}, a.Addrs...), b.Addrs...)
	out.Dropped = a.Dropped + b.Dropped
	if len(out.Addrs) > maxAddrs {
		out.Dropped += len(out.Addrs) - maxAddrs
		out.Addrs = out.Addrs[:maxAddrs]
	}
	out.ChainCut = len(out.Addrs) == 0 && (a.ChainCut || b.ChainCut)
	if len(b.Chain) > len(out.Chain) {
		out.Chain = b.Chain
	}
	if a.Transport == "tcp" || b.Transport == "tcp" {
		out.Transport = "tcp"
	}
	out.RTT = max(a.RTT, b.RTT)
	if out.SOA == nil {
		out.SOA = b.SOA
	}
	out.qtype = 0
	return out
}

// Question is the query type a single-type view answered (0 after merging).
func (v View) Question() uint16 { return v.qtype }

// hostTypes are the questions of a host lookup, A first as glibc asks.
var hostTypes = []uint16{dns.TypeA, dns.TypeAAAA}

// chaseBoth asks for A and AAAA together, as glibc does (one socket, both
// questions), and follows each one's CNAME chain. A chain that needs more
// questions asks them itself; the two go on at once only when both do (a
// goroutine per server and name was a run's hundred more).
func (s *Set) chaseBoth(ctx context.Context, srv Server, name string) View {
	first := s.ask(ctx, srv.Addr, name, hostTypes, s.conf.Attempts, s.conf.Timeout)
	a := View{Server: srv, Name: name, Rcode: -1, Chain: []string{name}, qtype: dns.TypeA}
	b := a
	b.Chain, b.qtype = []string{name}, dns.TypeAAAA
	nextA, moreA := a.step(first[0], name, dns.TypeA)
	nextB, moreB := b.step(first[1], name, dns.TypeAAAA)
	switch {
	case moreA && moreB:
		done := make(chan struct{})
		go func() { defer close(done); s.follow(ctx, &b, nextB) }()
		s.follow(ctx, &a, nextA)
		<-done
	case moreA:
		s.follow(ctx, &a, nextA)
	case moreB:
		s.follow(ctx, &b, nextB)
	}
	return merge(a, b)
}

// follow goes on with a chain that stopped short at target, one question
// at a time, up to maxChain questions in all.
func (s *Set) follow(ctx context.Context, v *View, target string) {
	for range maxChain - 1 {
		next, more := v.step(s.askOne(ctx, v.Server.Addr, target, v.qtype), target, v.qtype)
		if !more {
			return
		}
		target = next
	}
	v.ChainCut = true // asked maxChain times and the chain still went on
}

// askOne asks one question of one server.
func (s *Set) askOne(ctx context.Context, server netip.AddrPort, name string, qtype uint16) answer {
	return s.ask(ctx, server, name, []uint16{qtype}, s.conf.Attempts, s.conf.Timeout)[0]
}

// step takes one answer about target into v: its failure, its rcode, its
// addresses and chain. It returns the name to ask about next when the chain
// stops short of an address (more set).
func (v *View) step(ans answer, target string, qtype uint16) (next string, more bool) {
	if ans.err != nil {
		v.Err = ans.err
		return "", false
	}
	res := ans.res
	v.RTT += res.rtt
	if v.Transport != "tcp" {
		v.Transport = res.transport
	}
	m := res.msg
	v.Rcode = m.Rcode
	v.SOA = findSOA(m)
	if m.Rcode != dns.RcodeSuccess {
		return "", false
	}
	return v.read(m, target, qtype)
}

// read takes the addresses and CNAME chain for target out of an answer. It
// returns the name to ask about next when the chain stops at a name the
// answer holds nothing for (a server may cut a chain short), with again set.
func (v *View) read(m *dns.Msg, target string, qtype uint16) (next string, again bool) {
	seen := map[string]bool{}
	for {
		key := strings.ToLower(target)
		if seen[key] || len(v.Chain) > maxChain {
			v.ChainCut = true // a CNAME loop or an absurd chain: no addresses
			return "", false
		}
		seen[key] = true
		next := ""
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, target) {
				next = c.Target
				break
			}
		}
		if next == "" {
			break
		}
		target = next
		v.Chain = append(v.Chain, target)
	}
	for _, rr := range m.Answer {
		if !strings.EqualFold(rr.Header().Name, target) {
			continue
		}
		switch r := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(r.A.To4()); ok && qtype == dns.TypeA {
				v.keep(a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(r.AAAA.To16()); ok && qtype == dns.TypeAAAA {
				v.keep(a.Unmap())
			}
		}
	}
	if len(v.Addrs) > 0 || len(v.Chain) == 1 || !hasOnlyChain(m, target) {
		return "", false
	}
	if len(v.Chain) > maxChain {
		v.ChainCut = true
		return "", false
	}
	return target, true
}

// keep adds an address to the view, up to maxAddrs; the rest are counted.
func (v *View) keep(a netip.Addr) {
	if len(v.Addrs) >= maxAddrs {
		v.Dropped++
		return
	}
	v.Addrs = append(v.Addrs, a)
}

// hasOnlyChain reports that the answer ends at target with no records for it,
// which is when asking again for target can help.
func hasOnlyChain(m *dns.Msg, target string) bool {
	for _, rr := range m.Answer {
		if strings.EqualFold(rr.Header().Name, target) {
			return false
		}
	}
	return true
}

// findSOA returns the SOA in the answer (an SOA query) or authority section
// (NXDOMAIN and NODATA carry the zone's SOA there).
func findSOA(m *dns.Msg) *dns.SOA {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if soa, ok := rr.(*dns.SOA); ok {
				return soa
			}
		}
	}
	return nil
}

// query asks one server one absolute question of any type (used for SOA).
func (s *Set) query(ctx context.Context, srv Server, name string, qtype uint16) View {
	v := View{Server: srv, Name: strings.TrimSuffix(name, "."), Rcode: -1, Chain: []string{strings.TrimSuffix(name, ".")}, qtype: qtype}
	start := time.Now()
	ans := s.askOne(ctx, srv.Addr, dns.Fqdn(name), qtype)
	if ans.err != nil {
		v.Err = ans.err
		v.RTT = time.Since(start)
		return v
	}
	res := ans.res
	v.Rcode, v.Transport, v.RTT, v.SOA = res.msg.Rcode, res.transport, res.rtt, findSOA(res.msg)
	return v
}

func rcodeString(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}
