package resolver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the EDNS0 buffer advertised on UDP: 1232 bytes fits the IPv6
// minimum MTU without fragmentation (DNS Flag Day 2020). Larger answers come
// back truncated and are asked again over TCP.
const ednsSize = 1232

// maxUDPRead is the receive buffer. It is larger than what we advertise so
// that a server that ignores EDNS0 and sends a giant datagram is still read
// whole instead of being cut by the kernel and misparsed.
const maxUDPRead = 65535

// exchanged is one question's outcome at one server.
type exchanged struct {
	msg       *dns.Msg
	transport string // "udp" or "tcp"
	rtt       time.Duration
}

// errTimeout marks a question that got no acceptable answer in its budget.
var errTimeout = errors.New("no answer from the DNS server")

// exchange asks server one question. The transport is decided per query:
// UDP first, TCP when the UDP answer is truncated; no state is shared between
// queries. A UDP timeout is retried (attempts in all) with a fresh ID and
// source port, each try getting an equal share of what is left of ctx so the
// retry still fits the caller's budget. perTry caps one try (resolv.conf's
// timeout).
func exchange(ctx context.Context, server netip.AddrPort, name string, qtype uint16, attempts int, perTry time.Duration) (exchanged, error) {
	if attempts < 1 {
		attempts = 1
	}
	var lastErr error = errTimeout
	for try := 0; try < attempts; try++ {
		if ctx.Err() != nil {
			break
		}
		budget := perTry
		if dl, ok := ctx.Deadline(); ok {
			share := time.Until(dl) / time.Duration(attempts-try)
			budget = min(budget, share)
		}
		q := newQuestion(name, qtype)
		tctx, cancel := context.WithTimeout(ctx, budget)
		res, err := exchangeUDP(tctx, server, q)
		cancel()
		if err == nil {
			if !res.msg.Truncated {
				return res, nil
			}
			// The full answer is asked again over TCP with what is left of
			// the caller's budget; only this query switches transport.
			tcp, err := exchangeTCP(ctx, server, newQuestion(name, qtype), perTry)
			if err != nil {
				return exchanged{}, fmt.Errorf("truncated UDP answer, then TCP failed: %w", err)
			}
			return tcp, nil
		}
		lastErr = err
		if !isTimeout(err) {
			return exchanged{}, err // refused, unreachable: retrying will not help
		}
	}
	if ctx.Err() != nil && !isTimeout(lastErr) {
		return exchanged{}, ctx.Err()
	}
	return exchanged{}, errTimeout
}

func newQuestion(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)
	return m
}

// matches says whether resp answers q: same ID, a response, and the same
// question. Anything else is a stale or spoofed datagram and is discarded.
func matches(q, resp *dns.Msg) bool {
	if resp == nil || !resp.Response || resp.Id != q.Id || len(resp.Question) != 1 {
		return false
	}
	a, b := q.Question[0], resp.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// closeOnDone makes a blocking read return as soon as ctx ends, even if
// a deadline was not set or the clock is generous.
func closeOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
}

func exchangeUDP(ctx context.Context, server netip.AddrPort, q *dns.Msg) (exchanged, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return exchanged{}, err
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	wire, err := q.Pack()
	if err != nil {
		return exchanged{}, err
	}
	start := time.Now()
	if _, err := conn.Write(wire); err != nil {
		return exchanged{}, err
	}
	buf := make([]byte, maxUDPRead)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return exchanged{}, errTimeout
			}
			return exchanged{}, err
		}
		resp := new(dns.Msg)
		if resp.Unpack(buf[:n]) != nil || !matches(q, resp) {
			continue // malformed, stale or spoofed: keep waiting for ours
		}
		return exchanged{msg: resp, transport: "udp", rtt: time.Since(start)}, nil
	}
}

func exchangeTCP(ctx context.Context, server netip.AddrPort, q *dns.Msg, perTry time.Duration) (exchanged, error) {
	ctx, cancel := context.WithTimeout(ctx, perTry)
	defer cancel()
	var d net.Dialer
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		if ctx.Err() != nil {
			return exchanged{}, errTimeout
		}
		return exchanged{}, err
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	wire, err := q.Pack()
	if err != nil {
		return exchanged{}, err
	}
	// RFC 1035 §4.2.2 framing: a two-byte length, then the message.
	if _, err := c.Write(append([]byte{byte(len(wire) >> 8), byte(len(wire))}, wire...)); err != nil {
		return exchanged{}, err
	}
	r := bufio.NewReader(c)
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return exchanged{}, tcpReadErr(ctx, err)
		}
		body := make([]byte, int(hdr[0])<<8|int(hdr[1]))
		if _, err := io.ReadFull(r, body); err != nil {
			return exchanged{}, tcpReadErr(ctx, err)
		}
		resp := new(dns.Msg)
		if resp.Unpack(body) != nil || !matches(q, resp) {
			continue // malformed or not ours: the framing is intact, read on
		}
		return exchanged{msg: resp, transport: "tcp", rtt: time.Since(start)}, nil
	}
}

func tcpReadErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || isTimeout(err) {
		return errTimeout
	}
	return err
}

func isTimeout(err error) bool {
	if errors.Is(err, errTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
