package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/miekg/dns"
)

// exchange asks server one question: exchangeAll with one.
func exchange(ctx context.Context, server netip.AddrPort, name string, qtype uint16, attempts int, perTry time.Duration) (exchanged, error) {
	a := exchangeAll(ctx, server, name, []uint16{qtype}, attempts, perTry)[0]
	return a.res, a.err
}

func answerA(t testing.TB, q *dns.Msg, a string) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Answer = append(m.Answer, rr(t, q.Question[0].Name+" 60 IN A "+a))
	return m
}

// Every question advertises the EDNS0 buffer of 1232 bytes.
func TestQuestionAdvertisesEDNS0(t *testing.T) {
	var size atomic.Int32
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		if opt := q.IsEdns0(); opt != nil {
			size.Store(int32(opt.UDPSize()))
		}
		return [][]byte{pack(t, answerA(t, q, "10.1.2.5"))}
	})
	if _, err := exchange(ctxT(t, time.Second), addr, gw, dns.TypeA, 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if got := size.Load(); got != ednsSize {
		t.Errorf("advertised EDNS0 size %d, want %d", got, ednsSize)
	}
}

// Datagrams that are not a well-formed answer to our question — cut short,
// not even a header, a query rather than a response, another question under
// our ID — are skipped, and the real answer after them is taken.
func TestMalformedDatagramsAreSkipped(t *testing.T) {
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		good := answerA(t, q, "10.1.2.5")
		wire := pack(t, answerA(t, q, "6.6.6.6"))
		cut := wire[:len(wire)-3] // our ID, a record cut in the middle
		notResponse := good.Copy()
		notResponse.Response = false
		twoQuestions := good.Copy()
		twoQuestions.Question = append(twoQuestions.Question, twoQuestions.Question[0])
		return [][]byte{cut, wire[:5], pack(t, notResponse), pack(t, twoQuestions), pack(t, good)}
	})
	res, err := exchange(ctxT(t, time.Second), addr, gw, dns.TypeA, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a := res.msg.Answer[0].(*dns.A).A.String(); a != "10.1.2.5" || res.transport != "udp" {
		t.Errorf("took %s over %s", a, res.transport)
	}
}

// rawPair is a server on one port whose UDP replies and TCP byte stream a
// test writes: udp answers each datagram, tcp gets the query read from a
// connection and returns the bytes to write back; the connection is then
// held open for 2s when hold is set, else closed.
func rawPair(t testing.TB, udp func(q *dns.Msg) [][]byte, tcp func(q *dns.Msg) []byte, hold bool) netip.AddrPort {
	t.Helper()
	for range 20 {
		addr := rawUDP(t, udp)
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			continue
		}
		held := make(chan struct{})
		t.Cleanup(func() { close(held) })
		testtool.Serve(t, l, func(c net.Conn) {
			defer c.Close()
			var n uint16
			if binary.Read(c, binary.BigEndian, &n) != nil {
				return
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf) != nil {
				return
			}
			_, _ = c.Write(tcp(q))
			if hold {
				<-held // until the test ends
			}
		})
		return addr
	}
	t.Fatal("no free port for UDP and TCP")
	return netip.AddrPort{}
}

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// Over TCP too, frames that are not our answer are read past: the framing
// stays intact and the real answer that follows is taken.
func TestTCPFramesNotOursAreSkipped(t *testing.T) {
	addr := rawPair(t,
		func(q *dns.Msg) [][]byte {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Truncated = true
			return [][]byte{pack(t, m)}
		},
		func(q *dns.Msg) []byte {
			wrongID := answerA(t, q, "6.6.6.6")
			wrongID.Id = q.Id + 1
			wire := pack(t, answerA(t, q, "6.6.6.7"))
			var out []byte
			for _, f := range [][]byte{pack(t, wrongID), {}, wire[:7], wire[:len(wire)-3], pack(t, answerA(t, q, "10.1.2.5"))} {
				out = append(out, frame(f)...)
			}
			return out
		}, true)
	res, err := exchange(ctxT(t, time.Second), addr, gw, dns.TypeA, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a := res.msg.Answer[0].(*dns.A).A.String(); a != "10.1.2.5" || res.transport != "tcp" {
		t.Errorf("took %s over %s", a, res.transport)
	}
	// A TCP stream that ends inside a frame is a failure at once, not a
	// timeout.
	closes := rawPair(t,
		func(q *dns.Msg) [][]byte {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Truncated = true
			return [][]byte{pack(t, m)}
		},
		func(q *dns.Msg) []byte { return frame(pack(t, answerA(t, q, "10.1.2.5")))[:10] }, false)
	_, err = exchange(ctxT(t, 5*time.Second), closes, gw, dns.TypeA, 1, 5*time.Second)
	if err == nil || isTimeout(err) {
		t.Fatalf("cut TCP stream: %v", err)
	}
}

// A cancelled ctx without a deadline ends the wait at once, over UDP and TCP.
func TestCancelEndsExchangeWithoutDeadline(t *testing.T) {
	dead := silent(t)
	// within runs ask with a ctx cancelled after 50ms and fails the test,
	// instead of hanging, when ask does not return.
	within := func(what string, ask func(ctx context.Context) error) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		done := make(chan error, 1)
		go func() { done <- ask(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, errTimeout) {
				t.Errorf("%s: %v, want a timeout", what, err)
			}
		case <-time.After(time.Second):
			t.Errorf("%s: still waiting 1s after the cancel", what)
		}
	}
	for _, network := range []string{"udp", "tcp"} {
		within(network, func(ctx context.Context) error {
			_, err := exchangeOver(ctx, network, dead, newQuestion(gw, dns.TypeA))
			return err
		})
	}
	within("exchange", func(ctx context.Context) error {
		_, err := exchange(ctx, dead, gw, dns.TypeA, 2, 5*time.Second)
		return err
	})
}
