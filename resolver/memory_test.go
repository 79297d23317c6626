package resolver

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// memServer is a DNS server in memory, for tests of the waiting logic in
// virtual time (testing/synctest): a socket's wait is not one synctest can
// skip, a timer's is. It answers as h after delay; a nil h never answers
// (the question gets what a silent server gives: a timeout at ctx's end).
type memServer struct {
	h     dns.Handler
	delay time.Duration
	// early, for a server that never answers, ends its question that long
	// before ctx's deadline, as exchange's last try does (its budget is
	// what was left of ctx when it started).
	early time.Duration
}

// inMemory makes set ask the servers at the given addresses in memory
// instead of over the network. The questions of one call are answered
// together, after the server's delay.
func inMemory(set *Set, servers map[netip.AddrPort]memServer) {
	set.ask = func(ctx context.Context, addr netip.AddrPort, name string, qtypes []uint16, _ int, _ time.Duration) []answer {
		out := make([]answer, len(qtypes))
		timeout := func() []answer {
			for i := range out {
				out[i] = answer{err: errTimeout}
			}
			return out
		}
		srv, ok := servers[addr]
		if !ok || srv.h == nil {
			if dl, has := ctx.Deadline(); has && srv.early > 0 {
				ctx, cancel := context.WithDeadline(ctx, dl.Add(-srv.early))
				defer cancel()
				<-ctx.Done()
				return timeout()
			}
			<-ctx.Done()
			return timeout()
		}
		start := time.Now()
		select {
		case <-time.After(srv.delay):
		case <-ctx.Done():
			return timeout()
		}
		unanswered := false
		for i, qtype := range qtypes {
			w := &memWriter{}
			srv.h.ServeDNS(w, newQuestion(name, qtype))
			if w.msg == nil {
				out[i], unanswered = answer{err: errTimeout}, true
				continue
			}
			out[i] = answer{res: exchanged{msg: w.msg, transport: "udp", rtt: time.Since(start)}}
		}
		if unanswered {
			<-ctx.Done() // a question left unanswered waits for the end
		}
		return out
	}
}

// memAddr gives the in-memory servers distinct addresses (198.18.0.0/15,
// never asked on the network).
func memAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), 53)
}

// memWriter is the dns.ResponseWriter a memServer's handler writes to.
type memWriter struct{ msg *dns.Msg }

var memUDP = &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 53}

func (w *memWriter) LocalAddr() net.Addr       { return memUDP }
func (w *memWriter) RemoteAddr() net.Addr      { return memUDP }
func (w *memWriter) WriteMsg(m *dns.Msg) error { w.msg = m.Copy(); return nil }
func (w *memWriter) Write([]byte) (int, error) { return 0, nil }
func (w *memWriter) Close() error              { return nil }
func (w *memWriter) TsigStatus() error         { return nil }
func (w *memWriter) TsigTimersOnly(bool)       {}
func (w *memWriter) Hijack()                   {}

var _ dns.ResponseWriter = (*memWriter)(nil)

func memSet(t testing.TB, servers ...memServer) *Set {
	t.Helper()
	addrs := make([]netip.AddrPort, len(servers))
	m := map[netip.AddrPort]memServer{}
	for i, s := range servers {
		addrs[i] = memAddr(i + 1)
		m[addrs[i]] = s
	}
	set := newSet(t, internal, netip.AddrPort{}, addrs...)
	inMemory(set, m)
	return set
}
