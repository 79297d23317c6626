package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
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

// errTCPRetry marks a question whose UDP answer was truncated and whose
// retry over TCP failed: the failure is the TCP one's, and the report says
// the retry is what failed.
var errTCPRetry = errors.New("truncated UDP answer, then TCP failed")

// errMalformed marks a question whose only answers did not parse as DNS
// (garbage, a compression-pointer loop): the server answered, badly, which
// is not the silence a timeout is.
var errMalformed = errors.New("the DNS server's answer is malformed")

// malformed is errMalformed with what the parser said.
func malformed(err error) error {
	detail := "fewer bytes than a DNS header"
	if err != nil && !errors.Is(err, dns.ErrShortRead) {
		detail = err.Error()
	}
	return fmt.Errorf("%w (%s)", errMalformed, probes.Untrusted(detail, 80))
}

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
	var sawMalformed error
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
		res, err := exchangeOver(tctx, "udp", server, q)
		cancel()
		if err == nil {
			if !res.msg.Truncated {
				return res, nil
			}
			// The full answer is asked again over TCP with what is left of
			// the caller's budget; only this query switches transport.
			tctx, cancel := context.WithTimeout(ctx, perTry)
			tcp, err := exchangeOver(tctx, "tcp", server, newQuestion(name, qtype))
			cancel()
			if err != nil {
				return exchanged{}, fmt.Errorf("%w: %w", errTCPRetry, err)
			}
			return tcp, nil
		}
		lastErr = err
		if errors.Is(err, errMalformed) {
			sawMalformed = err // a later try may still get a good answer
			continue
		}
		if !isTimeout(err) {
			return exchanged{}, err // refused, unreachable: retrying will not help
		}
	}
	if sawMalformed != nil {
		return exchanged{}, sawMalformed
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

// exchangeOver asks q over network ("udp" or "tcp") on a connection of its
// own and waits for the answer that matches it.
//
// It reads with miekg/dns's Conn rather than Client.ExchangeContext, because
// in v1.1.73 the client's UDP loop skips only replies with another ID: a
// malformed datagram or one with our ID and another question ends the
// exchange (a spoofer's garbage would win over the real answer), its UDP
// buffer is cut to the EDNS0 size we advertise (a server that ignores EDNS0
// would be misparsed), and it obeys ctx's deadline but not its cancellation.
func exchangeOver(ctx context.Context, network string, server netip.AddrPort, q *dns.Msg) (exchanged, error) {
	start := time.Now()
	// A client per query: nothing is shared, and its zero-timeout dialer
	// leaves the deadline to ctx.
	c := dns.Client{Net: network, Dialer: &net.Dialer{}}
	co, err := c.DialContext(ctx, server.String())
	if err != nil {
		return exchanged{}, ioErr(ctx, err)
	}
	defer co.Close()
	defer closeOnDone(ctx, co)()
	if dl, ok := ctx.Deadline(); ok {
		_ = co.SetDeadline(dl)
	}
	co.UDPSize = maxUDPRead
	if err := co.WriteMsg(q); err != nil {
		return exchanged{}, ioErr(ctx, err)
	}
	// bad is the last answer that did not parse: what is reported when no
	// good one comes, since the server did answer.
	var bad error
	for {
		resp, err := readMsg(co, network)
		if err != nil && resp == nil && !errors.Is(err, dns.ErrShortRead) {
			if bad != nil && (ctx.Err() == nil || isTimeout(err)) {
				return exchanged{}, bad
			}
			return exchanged{}, ioErr(ctx, err) // the connection failed
		}
		// ReadMsg returns the message with an error when it does not
		// unpack, and ErrShortRead for less than a header; a TCP frame has
		// been read whole either way, so the framing is intact.
		if err != nil && bad == nil {
			bad = malformed(err)
			// A spoofer's garbage may come first: the real answer is
			// given about as long again as this one took, then the
			// server's own bad answer is what it said.
			until := time.Now().Add(max(2*time.Since(start), 20*time.Millisecond))
			if dl, ok := ctx.Deadline(); !ok || until.Before(dl) {
				_ = co.SetReadDeadline(until)
			}
		}
		if err != nil || !matches(q, resp) {
			if ctx.Err() != nil {
				if bad != nil {
					return exchanged{}, bad
				}
				return exchanged{}, errTimeout
			}
			continue // malformed, stale or spoofed: keep waiting for ours
		}
		return exchanged{msg: resp, transport: network, rtt: time.Since(start)}, nil
	}
}

// readMsg is co.ReadMsg, but a UDP datagram is read into a buffer of its
// own size, learnt once it has arrived (datagramSize): dns.Conn.ReadMsg
// makes a buffer of UDPSize (64 KiB, so that a giant datagram from a
// server that ignores EDNS0 is read whole) for every answer, and a pool of
// such buffers still held one per question waiting, 4.4 MB of a run's
// 18 MB. TCP frames keep miekg's reader (it allocates what the length
// prefix says).
func readMsg(co *dns.Conn, network string) (*dns.Msg, error) {
	if network != "udp" {
		return co.ReadMsg()
	}
	size, err := datagramSize(co.Conn)
	if err != nil {
		return nil, err
	}
	wire := make([]byte, max(size, headerSize))
	n, err := co.Conn.Read(wire)
	if err != nil {
		return nil, err
	}
	if n < headerSize {
		return nil, dns.ErrShortRead
	}
	m := new(dns.Msg)
	if err := m.Unpack(wire[:n]); err != nil {
		return m, err // as ReadMsg: the message as far as it unpacked, and why not
	}
	return m, nil
}

// headerSize is a DNS message's fixed header (RFC 1035 §4.1.1).
const headerSize = 12

// ioErr names a failure of the connection: a timeout when the budget ran
// out, else the error itself (refused, unreachable), which the package
// classifies.
func ioErr(ctx context.Context, err error) error {
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
