package probes

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"
)

// TLS dials the resolved address and makes a TLS handshake with the host name
// as SNI, then verifies the chain against the name. A TCP connect alone proves
// little: firewalls that filter by name complete the TCP handshake themselves
// and reset once they have read the server name in the ClientHello.
type TLS struct {
	Host     string
	Port     int
	Resolver Resolver
	// RootCAs is the trust store; nil means the system's (SSL_CERT_FILE and
	// SSL_CERT_DIR are honoured).
	RootCAs *x509.CertPool
	// AzureRoots, when set, are the roots a genuine Azure endpoint chains to:
	// a chain this machine trusts that does not lead to one of them is a
	// TLS-inspecting device in the path.
	AzureRoots *x509.CertPool
	// InterceptIsWarn reports interception as warn instead of fail (optional
	// dependencies).
	InterceptIsWarn bool
}

var _ Probe = TLS{}

func (p TLS) Run(ctx context.Context) Result {
	var res Result
	if !resolve(ctx, p.Resolver, p.Host, &res) {
		return res
	}
	conn, ok := dialFirst(ctx, &res, p.Port)
	if !ok {
		return res
	}
	defer conn.Close()

	cfg := &tls.Config{
		ServerName: p.Host,
		// Verification is done below by hand so that the presented chain is
		// in evidence even when it is not trusted.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
	}
	tc := tls.Client(conn, cfg)
	start := time.Now()
	err := tc.HandshakeContext(ctx)
	res.phase("tls_ms", time.Since(start))
	if err != nil {
		return handshakeFailure(ctx, res, err, p.Host, time.Since(start))
	}
	state := tc.ConnectionState()
	v := verifyChain(state, p.Host, p.RootCAs, p.AzureRoots)
	for k, val := range v.evidence {
		res.evidence()[k] = val
	}
	if v.err != nil {
		reason, msg := Classify(ctx, v.err)
		return mergeFail(res, reason, PhaseTLS, msg)
	}
	if v.intercepted {
		return intercepted(res, v, p.InterceptIsWarn)
	}
	out := Passf(fmt.Sprintf("%s handshake with %s, certificate for %s issued by %s", tlsVersion(state.Version), res.evidence()["dialled"], p.Host, v.evidence["tls_issuer"]))
	out.Phases, out.Addresses, out.Evidence = res.Phases, res.Addresses, res.Evidence
	return out
}

// handshakeFailure says what the handshake's failure looked like on the wire.
func handshakeFailure(ctx context.Context, res Result, err error, host string, took time.Duration) Result {
	reason, msg := Classify(ctx, err)
	switch {
	case reason == ReasonDeadline:
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// The TCP handshake completed and the connection died once the
		// ClientHello with the server name was sent: the mark of a firewall
		// filtering by name (or an application rule that does not list it).
		reason = ReasonReset
		msg = fmt.Sprintf("TCP connected, then the connection was cut right after the ClientHello for %s (%s): a firewall filtering by server name", host, resetWord(err))
	case reason == ReasonTimeout:
		msg = fmt.Sprintf("TCP connected, but no answer to the ClientHello for %s within %s (a stalled handshake: an appliance that holds the connection)", host, roundMS(took))
	case reason == ReasonError:
		reason = ReasonTLSHandshake
		msg = "TLS handshake failed: " + err.Error()
	}
	return mergeFail(res, reason, PhaseTLS, msg)
}

func resetWord(err error) string {
	if errors.Is(err, syscall.ECONNRESET) {
		return "TCP RST"
	}
	return "connection closed"
}

type verification struct {
	err         error
	intercepted bool
	evidence    map[string]any
}

// verifyChain checks the presented chain against host and the trust store and
// records subject, issuer, root, names and expiry. When azureRoots is given,
// a trusted chain that does not also lead to one of them is intercepted.
func verifyChain(state tls.ConnectionState, host string, roots, azureRoots *x509.CertPool) verification {
	v := verification{evidence: map[string]any{"tls_version": tlsVersion(state.Version)}}
	if len(state.PeerCertificates) == 0 {
		v.err = errors.New("the server presented no certificate")
		return v
	}
	leaf := state.PeerCertificates[0]
	v.evidence["tls_subject"] = leaf.Subject.String()
	v.evidence["tls_issuer"] = leaf.Issuer.String()
	v.evidence["tls_sans"] = leaf.DNSNames
	v.evidence["tls_not_after"] = leaf.NotAfter.UTC().Format(time.RFC3339)
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	if err != nil {
		v.err = err
		return v
	}
	root := chains[0][len(chains[0])-1]
	v.evidence["tls_root"] = root.Subject.String()
	sum := sha256.Sum256(root.Raw)
	v.evidence["tls_root_sha256"] = hex.EncodeToString(sum[:])
	if azureRoots != nil {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: azureRoots, Intermediates: inter}); err != nil {
			v.intercepted = true
		}
	}
	v.evidence["tls_intercepted"] = v.intercepted
	return v
}

func intercepted(res Result, v verification, warn bool) Result {
	msg := fmt.Sprintf("the certificate chain is trusted by this machine but ends at %q, not at a genuine Azure root: a TLS-inspecting proxy or firewall is in the path (issuer %q)",
		v.evidence["tls_root"], v.evidence["tls_issuer"])
	res = mergeFail(res, ReasonTLSIntercepted, PhaseTLS, msg)
	if warn {
		res.Status = Warn
	}
	return res
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS1.3"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS10:
		return "TLS1.0"
	}
	return fmt.Sprintf("0x%04x", v)
}
