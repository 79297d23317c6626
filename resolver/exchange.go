package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
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

// answer is one question's outcome: the answer, or why there is none.
type answer struct {
	res exchanged
	err error
}

// exchangeAll asks server about name, one question for each of qtypes, the
// way glibc asks A and AAAA: the questions go out together on one UDP
// socket, and each is matched to its own answer. The transport is decided
// per question: UDP first, TCP when its UDP answer is truncated; no state
// is shared between calls. A UDP timeout is retried (attempts in all) on
// a fresh socket with fresh IDs, for the questions still unanswered only,
// each try getting an equal share of what is left of ctx so the retry
// still fits the caller's budget. perTry caps one try (resolv.conf's
// timeout). The answers are in qtypes' order.
func exchangeAll(ctx context.Context, server netip.AddrPort, name string, qtypes []uint16, attempts int, perTry time.Duration) []answer {
	if attempts < 1 {
		attempts = 1
	}
	out := make([]answer, len(qtypes))
	lastErr := make([]error, len(qtypes))
	// sawMalformed: a try got only answers that did not parse; a later try
	// may still get a good one.
	sawMalformed := make([]error, len(qtypes))
	open := make([]int, len(qtypes)) // the questions not settled yet
	for i := range open {
		open[i], lastErr[i] = i, errTimeout
	}
	for try := 0; try < attempts && len(open) > 0; try++ {
		if ctx.Err() != nil {
			break
		}
		budget := perTry
		if dl, ok := ctx.Deadline(); ok {
			share := time.Until(dl) / time.Duration(attempts-try)
			budget = min(budget, share)
		}
		tctx, cancel := context.WithTimeout(ctx, budget)
		got := exchangeOverAll(tctx, "udp", server, questions(name, qtypes, open))
		cancel()
		var still, truncated []int
		for k, i := range open {
			res, err := got[k].res, got[k].err
			switch {
			case err == nil && res.msg.Truncated:
				truncated = append(truncated, i)
			case err == nil:
				out[i].res = res
			case errors.Is(err, errMalformed):
				lastErr[i], sawMalformed[i] = err, err
				still = append(still, i)
			case !isTimeout(err):
				out[i].err = err // refused, unreachable: retrying will not help
			default:
				lastErr[i] = err
				still = append(still, i)
			}
		}
		overTCP(ctx, server, name, qtypes, truncated, perTry, out)
		open = still
	}
	for _, i := range open {
		switch {
		case sawMalformed[i] != nil:
			out[i].err = sawMalformed[i]
		case ctx.Err() != nil && !isTimeout(lastErr[i]):
			out[i].err = ctx.Err()
		default:
			out[i].err = errTimeout
		}
	}
	return out
}

// questions are the questions of qtypes that open indexes, each with an ID
// of its own: an answer is told from the other question's by its ID as
// well as by its question.
func questions(name string, qtypes []uint16, open []int) []*dns.Msg {
	qs := make([]*dns.Msg, len(open))
	for k, i := range open {
		qs[k] = newQuestion(name, qtypes[i])
		for slices.ContainsFunc(qs[:k], func(o *dns.Msg) bool { return o.Id == qs[k].Id }) {
			qs[k].Id = dns.Id()
		}
	}
	return qs
}

// overTCP asks again over TCP the questions of qtypes that truncated
// indexes, whose UDP answers were truncated, with what is left of ctx
// (perTry at most) and sets their answers in out; only those questions
// switch transport. Two such questions are asked at once, on connections
// of their own.
func overTCP(ctx context.Context, server netip.AddrPort, name string, qtypes []uint16, truncated []int, perTry time.Duration, out []answer) {
	var wg sync.WaitGroup
	for k, i := range truncated {
		retry := func() {
			tctx, cancel := context.WithTimeout(ctx, perTry)
			defer cancel()
			tcp, err := exchangeOver(tctx, "tcp", server, newQuestion(name, qtypes[i]))
			if err != nil {
				out[i].err = fmt.Errorf("%w: %w", errTCPRetry, err)
				return
			}
			out[i].res = tcp
		}
		if k == len(truncated)-1 {
			retry()
		} else {
			wg.Go(retry)
		}
	}
	wg.Wait()
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
func exchangeOver(ctx context.Context, network string, server netip.AddrPort, q *dns.Msg) (exchanged, error) {
	a := exchangeOverAll(ctx, network, server, []*dns.Msg{q})[0]
	return a.res, a.err
}

// exchangeOverAll asks the questions qs over network ("udp" or "tcp") on
// one connection of its own and waits for the answer that matches each,
// until every one has its answer or ctx ends. The answers are in qs'
// order.
//
// It reads with miekg/dns's Conn rather than Client.ExchangeContext, because
// in v1.1.73 the client's UDP loop skips only replies with another ID: a
// malformed datagram or one with our ID and another question ends the
// exchange (a spoofer's garbage would win over the real answer), its UDP
// buffer is cut to the EDNS0 size we advertise (a server that ignores EDNS0
// would be misparsed), it obeys ctx's deadline but not its cancellation,
// and it asks one question per connection.
func exchangeOverAll(ctx context.Context, network string, server netip.AddrPort, qs []*dns.Msg) []answer {
	out := make([]answer, len(qs))
	answered := make([]bool, len(qs))
	// rest gives every question still unanswered the same failure.
	rest := func(err error) []answer {
		for i := range out {
			if !answered[i] {
				out[i].err = err
			}
		}
		return out
	}
	start := time.Now()
	// A client per connection: nothing is shared, and its zero-timeout
	// dialer leaves the deadline to ctx.
	c := dns.Client{Net: network, Dialer: &net.Dialer{}}
	co, err := c.DialContext(ctx, server.String())
	if err != nil {
		return rest(ioErr(ctx, err))
	}
	defer co.Close()
	defer closeOnDone(ctx, co)()
	if dl, ok := ctx.Deadline(); ok {
		_ = co.SetDeadline(dl)
	}
	co.UDPSize = maxUDPRead
	for _, q := range qs {
		if err := co.WriteMsg(q); err != nil {
			return rest(ioErr(ctx, err))
		}
	}
	// bad is the last answer that did not parse: what is reported when no
	// good one comes, since the server did answer.
	var bad error
	for left := len(qs); left > 0; {
		resp, err := readMsg(co, network)
		if err != nil && resp == nil && !errors.Is(err, dns.ErrShortRead) {
			if bad != nil && (ctx.Err() == nil || isTimeout(err)) {
				return rest(bad)
			}
			return rest(ioErr(ctx, err)) // the connection failed
		}
		// ReadMsg returns the message with an error when it does not
		// unpack, and ErrShortRead for less than a header; a TCP frame has
		// been read whole either way, so the framing is intact.
		if err != nil && bad == nil {
			bad = malformed(err)
			// A spoofer's garbage may come first: the real answers are
			// given about as long again as this one took, then the
			// server's own bad answer is what it said.
			until := time.Now().Add(max(2*time.Since(start), 20*time.Millisecond))
			if dl, ok := ctx.Deadline(); !ok || until.Before(dl) {
				_ = co.SetReadDeadline(until)
			}
		}
		i := -1
		if err == nil {
			for k, q := range qs {
				if !answered[k] && matches(q, resp) {
					i = k
					break
				}
			}
		}
		if i < 0 {
			if ctx.Err() != nil {
				if bad != nil {
					return rest(bad)
				}
				return rest(errTimeout)
			}
			continue // malformed, stale, spoofed or answered already: keep waiting for ours
		}
		answered[i], left = true, left-1
		out[i].res = exchanged{msg: resp, transport: network, rtt: time.Since(start)}
	}
	return out
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
