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
	"testing"
)

func TestClassify(t *testing.T) {
	opErr := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: e}}
	}
	deadlineCtx, cancel := context.WithCancelCause(context.Background())
	cancel(ErrRunDeadline)
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want Reason
	}{
		{nil, opErr(syscall.ECONNREFUSED), ReasonRefused},
		{nil, opErr(syscall.ECONNRESET), ReasonReset},
		{nil, opErr(syscall.EHOSTUNREACH), ReasonUnreachable},
		{nil, opErr(syscall.ENETUNREACH), ReasonUnreachable},
		{nil, opErr(syscall.EACCES), ReasonUnreachable},
		{nil, opErr(syscall.ETIMEDOUT), ReasonTimeout},
		{nil, fmt.Errorf("wrapped: %w", context.DeadlineExceeded), ReasonTimeout},
		{nil, os.ErrDeadlineExceeded, ReasonTimeout},
		{nil, io.EOF, ReasonReset},
		{nil, &net.DNSError{Name: "x", IsNotFound: true}, ReasonNXDomain},
		{nil, &net.DNSError{Name: "x", IsTimeout: true}, ReasonDNSTimeout},
		{nil, &net.DNSError{Name: "x", Err: "server misbehaving", IsTemporary: true}, ReasonServFail},
		{nil, &net.DNSError{Name: "x", Err: "dial udp 10.0.0.1:53: connect: network is unreachable", IsTemporary: true}, ReasonUnreachable},
		{nil, &net.DNSError{Name: "x", Err: "read udp 127.0.0.1:53: connection refused", IsTemporary: true}, ReasonRefused},
		{nil, x509.UnknownAuthorityError{}, ReasonTLSUntrusted},
		{nil, x509.HostnameError{Host: "a", Certificate: &x509.Certificate{}}, ReasonTLSNameMismatch},
		{nil, x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}, ReasonTLSUntrusted},
		{nil, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, ReasonTLSHandshake},
		{nil, tls.AlertError(40), ReasonTLSHandshake},
		{deadlineCtx, context.Canceled, ReasonDeadline},
		{nil, errors.New("something new"), ReasonError},
	} {
		got, msg := Classify(tc.ctx, tc.err)
		if got != tc.want || msg == "" {
			t.Errorf("%v: got %s %q, want %s", tc.err, got, msg, tc.want)
		}
	}
}

// The resolver's own outcome type is named by what the answer was, not by
// text: NODATA is no-answer (a net.DNSError could only say "not found",
// which read as nxdomain), a truncated answer whose TCP retry stalled is a
// DNS timeout, and a failed exchange keeps its transport's word.
func TestClassifyDNSOutcomes(t *testing.T) {
	refused := &net.OpError{Op: "read", Net: "udp", Err: &os.SyscallError{Syscall: "recvmsg", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		err  *DNSError
		want Reason
		says string
	}{
		{&DNSError{Outcome: DNSNXDomain, Name: "x"}, ReasonNXDomain, "NXDOMAIN"},
		{&DNSError{Outcome: DNSNoData, Name: "x", Server: "10.0.0.1:53"}, ReasonNoAnswer, "no data"},
		{&DNSError{Outcome: DNSRcode, Name: "x", Rcode: "SERVFAIL"}, ReasonServFail, "SERVFAIL"},
		{&DNSError{Outcome: DNSRcode, Name: "x", Rcode: "REFUSED"}, ReasonServFail, "REFUSED"},
		{&DNSError{Outcome: DNSMalformed, Name: "x", Err: errors.New("malformed")}, ReasonServFail, "malformed"},
		{&DNSError{Outcome: DNSTimeout, Name: "x"}, ReasonDNSTimeout, "no DNS answer"},
		{&DNSError{Outcome: DNSTimeout, Name: "x", Truncated: true}, ReasonDNSTimeout, "truncated"},
		{&DNSError{Outcome: DNSTransport, Name: "x", Err: refused}, ReasonRefused, "refused"},
		{&DNSError{Outcome: DNSTransport, Name: "x", Err: os.ErrDeadlineExceeded, Truncated: true}, ReasonDNSTimeout, "truncated"},
		{&DNSError{Outcome: DNSTransport, Name: "x", Err: errors.New("odd")}, ReasonServFail, "odd"},
		{&DNSError{Outcome: DNSNoServer, Name: "x"}, ReasonServFail, "no DNS server"},
		{&DNSError{Outcome: DNSNXDomain, Name: "x\u202egnp.exe"}, ReasonNXDomain, "NXDOMAIN"},
	} {
		got, msg := Classify(context.Background(), fmt.Errorf("wrapped: %w", tc.err))
		if got != tc.want || !strings.Contains(msg, tc.says) || strings.ContainsRune(msg, '\u202e') {
			t.Errorf("%+v: got %s %q, want %s saying %q", *tc.err, got, msg, tc.want, tc.says)
		}
	}
}
