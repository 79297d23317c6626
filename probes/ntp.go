package probes

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"
)

// NTP is a real NTP exchange over UDP (an SNTP client request, RFC 4330 and
// RFC 5905 mode 3): UDP has no handshake, so a connect proves nothing and
// only an answer does. The reply must be a server's (mode 4) answer to this
// very request (its origin timestamp echoes ours), from a synchronised
// server (leap indicator not 3, stratum 1-15) with a transmit timestamp.
// Silence is a timeout, an ICMP port unreachable a refusal, a kiss-of-death
// (stratum 0) a refusal naming its code, anything else that answers a
// wrong-answer.
type NTP struct {
	Host     string
	Port     int // 0 means 123
	Resolver Resolver
}

var _ Probe = NTP{}

// NTPPort is NTP's well-known UDP port.
const NTPPort = 123

func (p NTP) Run(ctx context.Context) Result {
	var res Result
	if !resolve(ctx, p.Resolver, p.Host, &res) {
		return res
	}
	port := p.Port
	if port == 0 {
		port = NTPPort
	}
	addr := net.JoinHostPort(res.Addresses[0], strconv.Itoa(port))
	res.Dialled = addr
	start := time.Now()
	fail := func(err error, what string) Result {
		res.phase("ntp_ms", time.Since(start))
		reason, msg := Classify(ctx, err)
		switch reason {
		case ReasonTimeout:
			msg = fmt.Sprintf("no NTP answer from %s within %s (a silent drop of UDP %d: NSG, firewall or route)", addr, roundMS(time.Since(start)), port)
		case ReasonRefused:
			msg = fmt.Sprintf("nothing serves NTP at %s (ICMP port unreachable)", addr)
		default:
			msg = fmt.Sprintf("NTP %s %s: %s", what, addr, msg)
		}
		return mergeFail(res, reason, PhaseConnect, msg)
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return fail(err, "to")
	}
	defer conn.Close()
	// The caller owns the deadline: the socket gives up once ctx is done
	// (and not a moment before, so that Classify sees why it ended).
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := make([]byte, ntpPacketLen)
	req[0] = 0<<6 | ntpVersion<<3 | ntpModeClient
	// The transmit timestamp is the time of sending with random low bits:
	// the server echoes it as the origin timestamp, so a reply that does
	// not is no answer to this request.
	sent := time.Now()
	xmt := ntpTime(sent)&^0xffff | uint64(rand.Uint32()&0xffff)
	binary.BigEndian.PutUint64(req[40:], xmt)
	if _, err := conn.Write(req); err != nil {
		return fail(err, "request to")
	}
	buf := make([]byte, 1024)
	n, err := conn.Read(buf)
	got := time.Now()
	if err != nil {
		return fail(err, "answer from")
	}
	res.phase("ntp_ms", got.Sub(start))
	reply, err := parseNTPReply(buf[:n], xmt)
	if err != nil {
		res.evidence()["ntp_reply_bytes"] = n
		return mergeFail(res, err.(*ntpProblem).reason, PhaseConnect, fmt.Sprintf("%s answered on UDP %d, but %s", addr, port, err))
	}
	// Clock offset as RFC 5905 defines it, for the evidence: this VM's clock
	// against the server's; how far apart they are is not a network fault.
	offset := (reply.receive.Sub(sent) + reply.transmit.Sub(got)) / 2
	ev := res.evidence()
	ev["ntp_stratum"] = reply.stratum
	ev["ntp_version"] = reply.version
	ev["ntp_leap"] = reply.leap
	ev["ntp_refid"] = reply.refID
	ev["ntp_server_time"] = reply.transmit.UTC().Format(time.RFC3339Nano)
	ev["ntp_offset_ms"] = offset.Milliseconds()
	return passWith(res, fmt.Sprintf("NTP answer from %s: stratum %d, reference %s, clock offset %+dms, round trip %dms",
		addr, reply.stratum, reply.refID, offset.Milliseconds(), got.Sub(sent).Milliseconds()))
}

const (
	ntpPacketLen  = 48
	ntpVersion    = 4
	ntpModeClient = 3
	ntpModeServer = 4
	// ntpEpochOffset is the seconds from 1900-01-01 (NTP's era 0) to 1970.
	ntpEpochOffset = 2208988800
)

// ntpTime is t as a 64-bit NTP timestamp (32 bits of seconds, 32 of
// fraction). The seconds wrap in 2036, as the protocol's do.
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// fromNTPTime turns an NTP timestamp back into a time. Seconds with the top
// bit clear are read as era 1 (from 2036-02-07), so that the result lies
// between 1968 and 2104.
func fromNTPTime(ts uint64) time.Time {
	secs := int64(ts >> 32)
	if secs&0x80000000 == 0 {
		secs += 1 << 32
	}
	nsec := int64((ts & 0xffffffff) * 1e9 >> 32)
	return time.Unix(secs-ntpEpochOffset, nsec)
}

type ntpReply struct {
	leap, version, stratum int
	refID                  string
	receive, transmit      time.Time
}

// ntpProblem is why a datagram is not a usable answer, with the reason word
// it is reported under.
type ntpProblem struct {
	reason Reason
	msg    string
}

func (e *ntpProblem) Error() string { return e.msg }

func wrongNTP(format string, a ...any) error {
	return &ntpProblem{reason: ReasonWrongAnswer, msg: fmt.Sprintf(format, a...)}
}

// parseNTPReply checks that b is a synchronised server's answer to the
// request whose transmit timestamp was xmt.
func parseNTPReply(b []byte, xmt uint64) (ntpReply, error) {
	if len(b) < ntpPacketLen {
		return ntpReply{}, wrongNTP("its %d-byte answer is not an NTP packet (at least %d bytes)", len(b), ntpPacketLen)
	}
	r := ntpReply{
		leap:    int(b[0] >> 6),
		version: int(b[0] >> 3 & 7),
		stratum: int(b[1]),
	}
	mode := int(b[0] & 7)
	switch {
	case mode != ntpModeServer:
		return r, wrongNTP("the answer has NTP mode %d, not %d (server): something other than an NTP server answered", mode, ntpModeServer)
	case r.version < 1 || r.version > 4:
		return r, wrongNTP("the answer has NTP version %d: something other than an NTP server answered", r.version)
	case binary.BigEndian.Uint64(b[24:]) != xmt:
		return r, wrongNTP("the answer's origin timestamp does not echo this request's: it is no answer to it")
	}
	refid := b[12:16]
	if r.stratum == 0 {
		// A kiss-of-death: the reference id carries an ASCII code.
		code := kissCode(refid)
		return r, &ntpProblem{reason: ReasonRefused, msg: fmt.Sprintf("with a kiss-of-death %q: the server refuses to serve this client (%s)", code, kissMeaning(code))}
	}
	switch {
	case r.leap == 3:
		return r, wrongNTP("its clock is not synchronised (leap indicator 3, alarm): its time cannot be used")
	case r.stratum >= 16:
		return r, wrongNTP("its clock is not synchronised (stratum %d): its time cannot be used", r.stratum)
	case binary.BigEndian.Uint64(b[40:]) == 0:
		return r, wrongNTP("the answer carries no transmit timestamp")
	}
	if r.stratum == 1 {
		r.refID = kissCode(refid) // a primary server names its source ("GPS", "PPS")
	} else {
		r.refID = net.IP(refid).String()
	}
	r.receive = fromNTPTime(binary.BigEndian.Uint64(b[32:]))
	r.transmit = fromNTPTime(binary.BigEndian.Uint64(b[40:]))
	return r, nil
}

// kissCode reads a reference id as the printable ASCII code it holds.
func kissCode(refid []byte) string {
	s := make([]byte, 0, 4)
	for _, c := range refid {
		if c == 0 {
			break
		}
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		s = append(s, c)
	}
	return string(s)
}

// kissMeaning says what the kiss codes a client meets mean (RFC 5905 §7.4).
func kissMeaning(code string) string {
	switch code {
	case "DENY", "RSTR":
		return "access denied by the server's policy"
	case "RATE":
		return "rate limited: too many requests from this address"
	case "AUTH", "AUTO", "CRYP", "NKEY":
		return "authentication required or failed"
	}
	return "see RFC 5905 §7.4"
}
