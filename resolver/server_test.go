package resolver

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// zone is an in-process authoritative-and-recursive stand-in: it answers
// from a list of records, follows CNAMEs inside itself the way a recursive
// resolver returns a whole chain, and puts the SOA in the authority section
// of NXDOMAIN and NODATA answers.
type zone struct {
	rrs         []dns.RR
	soa         *dns.SOA
	rcode       int  // when non-zero, every answer has this rcode
	truncateUDP bool // answer over UDP with TC set and no records
	queries     atomic.Int64
	mu          sync.Mutex
	seen        []string // "udp A name." per query
}

func (z *zone) queriesSeen() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.seen)
}

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("bad test record %q: %v", s, err)
	}
	return r
}

func newZone(t testing.TB, records ...string) *zone {
	z := &zone{}
	for _, s := range records {
		r := rr(t, s)
		if soa, ok := r.(*dns.SOA); ok {
			z.soa = soa
			continue
		}
		z.rrs = append(z.rrs, r)
	}
	return z
}

func (z *zone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	z.queries.Add(1)
	udp := w.LocalAddr().Network() == "udp"
	q := req.Question[0]
	z.mu.Lock()
	z.seen = append(z.seen, fmt.Sprintf("%s %s %s", w.LocalAddr().Network(), dns.TypeToString[q.Qtype], strings.ToLower(q.Name)))
	z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if z.rcode != 0 {
		m.Rcode = z.rcode
		_ = w.WriteMsg(m)
		return
	}
	if q.Qtype == dns.TypeSOA && z.soa != nil && strings.EqualFold(q.Name, z.soa.Hdr.Name) {
		m.Answer = append(m.Answer, z.soa)
		_ = w.WriteMsg(m)
		return
	}
	name, exists := q.Name, false
	for hop := 0; hop < 10; hop++ {
		var next string
		for _, r := range z.rrs {
			if !strings.EqualFold(r.Header().Name, name) {
				continue
			}
			exists = true
			if c, ok := r.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
				m.Answer = append(m.Answer, c)
				next = c.Target
			} else if r.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, r)
			}
		}
		if next == "" {
			break
		}
		name = next
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 && z.soa != nil {
		m.Ns = append(m.Ns, z.soa)
	}
	if udp && z.truncateUDP {
		m.Truncated = true
		m.Answer = nil
	}
	_ = w.WriteMsg(m)
}

// serve starts h on 127.0.0.1 (or ::1) over UDP and TCP on one port.
func serve(t testing.TB, network string, h dns.Handler) netip.AddrPort {
	t.Helper()
	host := "127.0.0.1"
	if network == "ip6" {
		host = "::1"
	}
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", host, err)
		}
		ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
		l, err := net.Listen("tcp", ap.String())
		if err != nil {
			pc.Close()
			continue
		}
		for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
			started := make(chan struct{})
			s.NotifyStartedFunc = func() { close(started) }
			go func() { _ = s.ActivateAndServe() }()
			<-started
			t.Cleanup(func() { _ = s.Shutdown() })
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	t.Fatal("no free port for UDP and TCP")
	return netip.AddrPort{}
}

// silent is a server that never answers: UDP datagrams are read and dropped,
// TCP connections are accepted and left hanging.
func silent(t testing.TB) netip.AddrPort {
	t.Helper()
	var pc net.PacketConn
	var l net.Listener
	var ap netip.AddrPort
	for try := 0; l == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		ap = pc.LocalAddr().(*net.UDPAddr).AddrPort()
		// The UDP port's TCP twin may be taken; try another pair.
		if l, err = net.Listen("tcp", ap.String()); err != nil {
			pc.Close()
			if try == 20 {
				t.Fatal(err)
			}
		}
	}
	var conns sync.WaitGroup
	quiet := make(chan struct{}) // held connections close when the test ends
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); _, _ = c.Read(make([]byte, 512)); <-quiet; c.Close() }()
		}
	}()
	t.Cleanup(func() { pc.Close(); l.Close(); close(quiet) })
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// rawUDP is a server whose replies a test writes byte by byte: it hands each
// query to reply, which returns the datagrams to send back in order.
func rawUDP(t testing.TB, reply func(q *dns.Msg) [][]byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, d := range reply(q) {
				_, _ = pc.WriteTo(d, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSet builds a set: vnet servers from a resolv.conf, then Azure DNS.
func newSet(t testing.TB, exp Expectation, azure netip.AddrPort, vnet ...netip.AddrPort) *Set {
	t.Helper()
	rc := DefaultResolvConf()
	rc.Servers = vnet
	s, err := New(Options{ResolvConf: &rc, AzureDNS: azure, Expect: Fixed(exp)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	publicSOA  = "azure-api.net. 300 IN SOA ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300"
	privateSOA = "azure-api.net. 300 IN SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10"
)
