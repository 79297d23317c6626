package probes

import (
	"context"
	"fmt"
)

// DNSOutcome is what a name lookup that gave no address ended with. It is
// read from the answer itself (its rcode, an empty answer, a truncation) or
// from the exchange, never from an error's text.
type DNSOutcome uint8

const (
	// DNSNoServer: there was no DNS server to ask.
	DNSNoServer DNSOutcome = iota + 1
	// DNSNXDomain: the server said the name does not exist.
	DNSNXDomain
	// DNSNoData: the name exists but has no address record (NOERROR with
	// an empty answer: NODATA, or a CNAME chain that ends nowhere).
	DNSNoData
	// DNSRcode: the server answered with another rcode (SERVFAIL, REFUSED,
	// …), named in Rcode.
	DNSRcode
	// DNSMalformed: the server answered with something that is not DNS.
	DNSMalformed
	// DNSTimeout: no answer within the lookup's time.
	DNSTimeout
	// DNSTransport: the exchange failed (refused, unreachable); Err says how.
	DNSTransport
)

// DNSError is a lookup's outcome when it gave no address: the resolver's own
// type, so that every check that reads the same answer names it with the
// same reason word (Classify maps it).
type DNSError struct {
	Outcome DNSOutcome
	// Name is the name asked about; Server the server's address, if one
	// was asked.
	Name, Server string
	// Rcode is the server's rcode in words (DNSRcode).
	Rcode string
	// Truncated says the UDP answer was truncated and the retry over TCP is
	// what failed (DNSTimeout, DNSTransport).
	Truncated bool
	// Err is the failure underneath (DNSTransport, DNSMalformed, DNSTimeout).
	Err error
}

func (e *DNSError) Error() string {
	_, msg := e.classify()
	return msg
}

func (e *DNSError) Unwrap() error { return e.Err }

// classify is Classify for a DNS outcome: the reason word and what was seen.
// The name, the server's words and the error text may come from the wire.
func (e *DNSError) classify() (Reason, string) {
	name := Untrusted(e.Name, 0)
	server := ""
	if e.Server != "" {
		server = " (DNS server " + Untrusted(e.Server, 0) + ")"
	}
	tc := ""
	if e.Truncated {
		tc = ": the UDP answer was truncated and the retry over TCP "
	}
	switch e.Outcome {
	case DNSNXDomain:
		return ReasonNXDomain, fmt.Sprintf("name %s does not exist (NXDOMAIN)%s", name, server)
	case DNSNoData:
		return ReasonNoAnswer, fmt.Sprintf("name %s has no address record (NOERROR, no data)%s", name, server)
	case DNSRcode:
		return ReasonServFail, fmt.Sprintf("DNS lookup of %s failed%s: server answered %s", name, server, Untrusted(e.Rcode, 40))
	case DNSMalformed:
		return ReasonServFail, fmt.Sprintf("DNS lookup of %s failed%s: %s", name, server, errText(e.Err))
	case DNSTimeout:
		if tc != "" {
			return ReasonDNSTimeout, fmt.Sprintf("no DNS answer for %s%s%sgot no answer", name, server, tc)
		}
		return ReasonDNSTimeout, fmt.Sprintf("no DNS answer for %s%s", name, server)
	case DNSTransport:
		reason, msg := Classify(context.Background(), e.Err)
		switch reason {
		case ReasonTimeout:
			reason = ReasonDNSTimeout
		case ReasonRefused, ReasonUnreachable, ReasonReset:
		default:
			reason = ReasonServFail
		}
		if tc != "" {
			return reason, fmt.Sprintf("DNS lookup of %s failed%s%sfailed: %s", name, server, tc, msg)
		}
		return reason, msg
	}
	return ReasonServFail, fmt.Sprintf("DNS lookup of %s failed%s: no DNS server to ask", name, server)
}

func errText(err error) string {
	if err == nil {
		return "no detail"
	}
	return Untrusted(err.Error(), 0)
}
