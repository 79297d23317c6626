package resolver

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

func FuzzParseResolvConf(f *testing.F) {
	for _, seed := range []string{
		"nameserver 10.0.0.4\nsearch a.example b.example\noptions ndots:5 timeout:1 attempts:3\n",
		"nameserver fe80::1%eth0\ndomain x\n",
		"options ndots:-1 timeout:999999999999 attempts:0\n",
		"nameserver\n", "#only a comment", "search " + strings.Repeat("d ", 20),
		"nameserver 1.2.3.4 extra\r\noptions ndots:2:3\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rc, err := ParseResolvConf(strings.NewReader(s))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if rc.Ndots < 0 || rc.Ndots > maxNdots || rc.Attempts < 1 || rc.Attempts > maxAttempts ||
			rc.Timeout < time.Second || rc.Timeout > maxTimeout || len(rc.Search) > maxSearch {
			t.Errorf("out of limits: %+v", rc)
		}
		for _, a := range rc.Servers {
			if !a.IsValid() || a.Port() != 53 || a.Addr().Is4In6() {
				t.Errorf("bad server %v", a)
			}
		}
	})
}

func FuzzParseServer(f *testing.F) {
	for _, seed := range []string{"10.0.0.4", "10.0.0.4:53", "[::1]:5353", "::1", "host:53", "1.2.3.4:99999", "[::1", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseServer(s)
		if err != nil {
			return
		}
		if !a.IsValid() || a.Port() == 0 {
			t.Fatalf("ParseServer(%q) = %v", s, a)
		}
		b, err := ParseServer(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip of %v: %v %v", a, b, err)
		}
	})
}

// FuzzClassify checks the classification invariants for any address,
// subnet, VIP and VNet prefix: the VIP is always expected-vip, nothing inside
// the subnet or VNet is ever public, and the judgement of an answer never
// calls a private-range or VNet address a public answer.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{10, 1, 2, 5}, []byte{10, 1, 2, 0}, uint8(24), []byte{10, 1, 2, 5}, []byte{20, 0, 0, 0}, uint8(16), uint8(0))
	f.Add([]byte{20, 0, 3, 4}, []byte{10, 1, 2, 0}, uint8(24), []byte{}, []byte{20, 0, 0, 0}, uint8(16), uint8(1))
	f.Add(make([]byte, 16), make([]byte, 16), uint8(64), make([]byte, 16), []byte{}, uint8(0), uint8(2))
	f.Add([]byte{100, 64, 0, 1}, []byte{}, uint8(0), []byte{}, []byte{}, uint8(0), uint8(3))
	modes := []probes.Mode{probes.ModeInternal, probes.ModeExternal, probes.ModeV2Injected, probes.ModeV2Integrated}
	f.Fuzz(func(t *testing.T, addr, subnet []byte, bits uint8, vip, vnet []byte, vbits uint8, mode uint8) {
		a, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		e := Expectation{Mode: modes[int(mode)%len(modes)], Phase: "post"}
		if s, ok := netip.AddrFromSlice(subnet); ok {
			if p, err := s.Prefix(int(bits)); err == nil {
				e.Subnet = p
			}
		}
		if v, ok := netip.AddrFromSlice(vip); ok {
			e.PrivateIP = v
		}
		if v, ok := netip.AddrFromSlice(vnet); ok {
			if p, err := v.Prefix(int(vbits)); err == nil {
				e.VNet = []netip.Prefix{p}
			}
		}
		c := e.Class(a)
		if e.PrivateIP.IsValid() && a.Unmap() == e.PrivateIP.Unmap() && c != ClassExpectedVIP {
			t.Fatalf("VIP classed %s", c)
		}
		inside := (e.Subnet.IsValid() && e.Subnet.Contains(a.Unmap())) || a.Unmap().IsPrivate()
		for _, p := range e.VNet {
			inside = inside || p.Contains(a.Unmap())
		}
		if inside && c == ClassPublic {
			t.Fatalf("%s inside %+v classed public", a, e)
		}
		v := View{Rcode: dns.RcodeSuccess, Addrs: []netip.Addr{a}, Chain: []string{"x"}}
		reason, msg := e.judgeInstance(v)
		if reason == probes.ReasonPublicAnswer && inside {
			t.Fatalf("public-answer for %s inside %+v: %s", a, e, msg)
		}
		if reason == probes.ReasonOK && e.ExpectsPrivate() && e.PrivateIP.IsValid() && c != ClassExpectedVIP {
			t.Fatalf("%s passed but is not the VIP %s", a, e.PrivateIP)
		}
		if reason != probes.ReasonOK && msg == "" {
			t.Fatalf("%s without a message", reason)
		}
	})
}

// FuzzReadAnswer feeds arbitrary wire messages to the answer reader: it must
// never panic, never loop, and keep the chain bounded.
func FuzzReadAnswer(f *testing.F) {
	seed := func(rrs ...string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("a.example.", dns.TypeA)
		m.Response = true
		for _, s := range rrs {
			r, _ := dns.NewRR(s)
			m.Answer = append(m.Answer, r)
		}
		b, _ := m.Pack()
		return b
	}
	f.Add(seed("a.example. 1 IN A 10.0.0.1"))
	f.Add(seed("a.example. 1 IN CNAME b.privatelink.example.", "b.privatelink.example. 1 IN A 20.0.0.1"))
	f.Add(seed("a.example. 1 IN CNAME b.example.", "b.example. 1 IN CNAME a.example."))
	f.Add(seed("a.example. 1 IN CNAME b.example."))
	f.Fuzz(func(t *testing.T, wire []byte) {
		m := new(dns.Msg)
		if m.Unpack(wire) != nil {
			return
		}
		v := View{Chain: []string{"a.example."}, Rcode: m.Rcode}
		next, again := v.read(m, "a.example.", dns.TypeA)
		if len(v.Chain) > maxChain+1 {
			t.Fatalf("chain of %d", len(v.Chain))
		}
		if again && (next == "" || len(v.Addrs) > 0) {
			t.Fatalf("asks again for %q with %d addresses", next, len(v.Addrs))
		}
		for _, a := range v.Addrs {
			if !a.Is4() {
				t.Fatalf("A query gave %s", a)
			}
		}
		_ = privateLinkHop(v.Chain)
		_ = v.evidence(Expectation{})
	})
}

// fuzzDNS answers every query with the fuzzer's message: its ID and
// question made the query's (else the client would drop it as another
// query's answer), or, when it does not unpack, its raw bytes with the
// query's ID, so that the client's own reading of the wire is fuzzed too.
type fuzzDNS struct {
	mu   sync.Mutex
	wire []byte
}

func (z *fuzzDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	z.mu.Lock()
	wire := append([]byte(nil), z.wire...)
	z.mu.Unlock()
	m := new(dns.Msg)
	if m.Unpack(wire) == nil {
		m.Id, m.Question, m.Response = req.Id, req.Question, true
		if b, err := m.Pack(); err == nil {
			w.Write(b)
			return
		}
	}
	if len(wire) >= 2 {
		wire[0], wire[1] = byte(req.Id>>8), byte(req.Id)
	}
	w.Write(wire)
}

// FuzzChase is DNS exchange and CNAME chasing on the wire: a loopback
// server (UDP, and TCP for a truncated answer) answers every question of
// the chase with the fuzzer's message. The chase ends within its budget,
// keeps its chain and addresses bounded, and an address is of the type
// asked.
func FuzzChase(f *testing.F) {
	seed := func(tc bool, rcode int, rrs ...string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("a.example.", dns.TypeA)
		m.Response, m.Truncated, m.Rcode = true, tc, rcode
		for _, s := range rrs {
			r, _ := dns.NewRR(s)
			m.Answer = append(m.Answer, r)
		}
		b, _ := m.Pack()
		return b
	}
	f.Add(seed(false, 0, "a.example. 1 IN A 198.18.0.1"), true)
	f.Add(seed(false, 0, "a.example. 1 IN CNAME b.privatelink.example.", "b.privatelink.example. 1 IN A 198.18.0.2"), true)
	f.Add(seed(false, 0, "a.example. 1 IN CNAME b.example."), true)
	f.Add(seed(false, 0, "a.example. 1 IN CNAME b.example.", "b.example. 1 IN CNAME a.example."), false)
	f.Add(seed(true, 0, "a.example. 1 IN A 198.18.0.1"), true)
	f.Add(seed(false, dns.RcodeNameError), true)
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1}, true)
	z := &fuzzDNS{}
	addr := serve(f, "ip4", z)
	// A loopback answer comes within a millisecond; one the client drops
	// (another query's, malformed) costs the whole limit, so the limit is
	// short: the fuzzer's time goes to answers, not to waiting.
	s := &Set{conf: ResolvConf{Attempts: 1, Timeout: 4 * time.Millisecond}, cache: map[cacheKey]*entry{}, ask: exchangeAll}
	f.Fuzz(func(t *testing.T, wire []byte, a bool) {
		z.mu.Lock()
		z.wire = wire
		z.mu.Unlock()
		qtype := dns.TypeAAAA
		if a {
			qtype = dns.TypeA
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		v := s.chase(ctx, Server{Addr: addr}, "a.example.", qtype)
		if len(v.Chain) > maxChain+1 {
			t.Fatalf("chain of %d", len(v.Chain))
		}
		if len(v.Addrs) > maxAddrs {
			t.Fatalf("%d addresses kept", len(v.Addrs))
		}
		for _, ad := range v.Addrs {
			if ad.Is4() != a {
				t.Fatalf("%s for a query of type %d", ad, qtype)
			}
		}
		_ = v.evidence(Expectation{})
	})
}

// chase asks for one type alone and follows the CNAME chain, as chaseBoth
// does for each of A and AAAA.
func (s *Set) chase(ctx context.Context, srv Server, name string, qtype uint16) View {
	v := View{Server: srv, Name: name, Rcode: -1, Chain: []string{name}, qtype: qtype}
	if next, more := v.step(s.askOne(ctx, srv.Addr, name, qtype), name, qtype); more {
		s.follow(ctx, &v, next)
	}
	return v
}
