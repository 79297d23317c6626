package probes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Classify turns an error from a dial, a handshake or an HTTP exchange into
// SPEC's reason word and a short description of what was seen on the wire.
// runCtx is the run's context: when it is done the check was cut by the
// run's deadline, not by its own limit. Every probe uses this function; no
// probe matches error strings of its own.
func Classify(runCtx context.Context, err error) (Reason, string) {
	if err == nil {
		return ReasonOK, ""
	}
	if runCtx != nil && runCtx.Err() != nil && errors.Is(context.Cause(runCtx), ErrRunDeadline) ||
		isTimeout(err) && boundByRun(runCtx) {
		return ReasonDeadline, "the run's --deadline ended the check before it finished"
	}
	if r, msg, ok := classifyDNS(err); ok {
		return r, msg
	}
	if r, msg, ok := classifyTLS(err); ok {
		return r, msg
	}
	return classifyNet(err)
}

// classifyDNS reads a failed lookup: ours (DNSError), or Go's resolver's.
func classifyDNS(err error) (Reason, string, bool) {
	var ours *DNSError
	if errors.As(err, &ours) {
		r, msg := ours.classify()
		return r, msg, true
	}
	// Go's own resolver (SystemResolver, when no resolver set is given).
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// The name and the error text may come from the wire.
		d := *dnsErr
		d.Name, d.Err = Untrusted(d.Name, 0), Untrusted(d.Err, 0)
		dnsErr = &d
		server := ""
		if dnsErr.Server != "" {
			server = " (DNS server " + dnsErr.Server + ")"
		}
		// Go's resolver keeps the cause of a failed exchange only as text, so
		// this is the one place that reads it.
		switch {
		case dnsErr.IsNotFound:
			return ReasonNXDomain, fmt.Sprintf("name %s does not exist (NXDOMAIN or no address)%s", dnsErr.Name, server), true
		case dnsErr.IsTimeout:
			return ReasonDNSTimeout, fmt.Sprintf("no DNS answer for %s%s", dnsErr.Name, server), true
		case strings.Contains(dnsErr.Err, "connection refused"):
			return ReasonRefused, fmt.Sprintf("the DNS server refused the query for %s%s", dnsErr.Name, server), true
		case strings.Contains(dnsErr.Err, "unreachable"), strings.Contains(dnsErr.Err, "no route"):
			return ReasonUnreachable, fmt.Sprintf("the DNS server cannot be reached for %s%s: %s", dnsErr.Name, server, dnsErr.Err), true
		case strings.Contains(dnsErr.Err, "server misbehaving"):
			return ReasonServFail, fmt.Sprintf("the DNS server failed for %s (SERVFAIL)%s", dnsErr.Name, server), true
		}
		return ReasonServFail, fmt.Sprintf("DNS lookup of %s failed%s: %s", dnsErr.Name, server, dnsErr.Err), true
	}
	return "", "", false
}

// classifyTLS reads a certificate or handshake failure, wherever tls and
// url errors wrap it.
func classifyTLS(err error) (Reason, string, bool) {
	// Certificate problems first: they are wrapped inside tls and url errors.
	var unknownAuth x509.UnknownAuthorityError
	if errors.As(err, &unknownAuth) {
		issuer := ""
		if unknownAuth.Cert != nil {
			issuer = Untrusted(unknownAuth.Cert.Issuer.String(), 0)
		}
		return ReasonTLSUntrusted, fmt.Sprintf("certificate signed by an authority this machine does not trust (issuer %q)", issuer), true
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return ReasonTLSNameMismatch, fmt.Sprintf("certificate is not valid for %s: %s", Untrusted(hostErr.Host, 0), Untrusted(hostErr.Error(), 300)), true
	}
	var certInvalid x509.CertificateInvalidError
	if errors.As(err, &certInvalid) {
		return ReasonTLSUntrusted, "certificate rejected: " + Untrusted(certInvalid.Error(), 300), true
	}
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		return ReasonTLSUntrusted, "certificate verification failed: " + Untrusted(verifyErr.Err.Error(), 300), true
	}
	var recordErr tls.RecordHeaderError
	if errors.As(err, &recordErr) {
		return ReasonTLSHandshake, "the server answered with something that is not TLS (a plain-text proxy or block page?)", true
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return ReasonTLSHandshake, "the server ended the handshake with TLS alert: " + alert.Error(), true
	}
	return "", "", false
}

// classifyNet reads what the socket said (refused, reset, unreachable,
// no answer), else the error is unexpected.
func classifyNet(err error) (Reason, string) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused, "connection refused (TCP RST to the SYN, or ICMP port unreachable)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonReset, "connection reset by the peer after it was established"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return ReasonUnreachable, "no route to host (ICMP host unreachable)"
	case errors.Is(err, syscall.ENETUNREACH):
		return ReasonUnreachable, "network unreachable (no route)"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return ReasonUnreachable, "administratively prohibited (ICMP admin unreachable, or a local firewall)"
	case errors.Is(err, syscall.ETIMEDOUT):
		return ReasonTimeout, "no answer (the kernel gave up retrying)"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, errCheckLimit):
		// net/http reports a cancelled request by its context's cause:
		// the runner's errCheckLimit when the check's own limit ran out.
		return ReasonTimeout, "no answer within the check's limit"
	case errors.Is(err, context.Canceled):
		return ReasonDeadline, "the check was cancelled before it finished"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonReset, "the peer closed the connection (EOF) mid-exchange"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout, "no answer within the check's limit"
	}
	return ReasonError, "unexpected error: " + ErrorText(err)
}

// runBound marks a check's context whose limit is the run's deadline (its
// own --timeout would end later); its value is the run's end: see
// boundByRun.
type runBound struct{}

// boundByRun reports whether ctx belongs to a check that the run's
// deadline bounds and that deadline has passed. A timeout seen then is the
// deadline's, whichever fired first: the contexts' timers or a socket
// deadline set from them (net sets one from ctx's deadline, and its timer
// may fire before the contexts' do). The run's end is the one recorded
// when the check started, not ctx's own deadline: a probe inside such a
// check (the instance's dependencies, the backends) may set a nearer limit
// of its own, and that limit running out is a timeout, not the deadline.
func boundByRun(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	end, ok := ctx.Value(runBound{}).(time.Time)
	return ok && !end.IsZero() && !time.Now().Before(end)
}

// isTimeout: err is a limit running out (a context's deadline, a socket's,
// a DNS exchange's).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errCheckLimit) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ErrRunDeadline is the cause attached to the run's context when --deadline
// ends it, so that Classify can tell a run deadline from a check timeout.
var ErrRunDeadline = errors.New("run deadline reached")

// Resolver turns a host name into IP addresses. The default is Go's resolver
// (the system's /etc/resolv.conf); package resolver supplies one that asks
// several servers and keeps every answer.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// DetailedResolver is a Resolver that also explains what it saw: per-resolver
// answers and the CNAME chain for the report's evidence, and — when the
// answer itself is wrong, such as a privatelink CNAME that ends at a public
// address — the failed result the check must report instead of dialling.
// Probes use it when the configured Resolver implements it.
type DetailedResolver interface {
	Resolver
	LookupDetail(ctx context.Context, host string) (Detail, error)
}

// Detail is what a DetailedResolver saw besides the addresses.
type Detail struct {
	Addrs []string
	// Evidence is filed under the check's evidence key "dns".
	Evidence map[string]any
	// Lookups is every server's view, for analyses that correlate checks.
	Lookups []Lookup
	// Problem, when set, is the failure the check reports instead of
	// dialling.
	Problem *Result
}
