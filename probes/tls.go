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
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apimprobe/apimprobe/internal/azureroots"
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
	// ReachOnly makes the completed handshake the test: a chain this
	// machine does not trust, or a name it does not cover, is reported but
	// not judged (hosts whose roots Linux trust stores do not hold).
	ReachOnly bool
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

	cfg := clientHello()
	cfg.ServerName = p.Host
	counted := &countingConn{Conn: conn}
	tc := tls.Client(counted, cfg)
	start := time.Now()
	err := tc.HandshakeContext(ctx)
	res.phase("tls_ms", time.Since(start))
	if err != nil {
		return handshakeFailure(ctx, res, err, p.Host, time.Since(start), counted.read.Load())
	}
	state := tc.ConnectionState()
	v := verifyChain(state, p.Host, p.RootCAs, p.AzureRoots)
	res.Cert = v.cert
	if v.err != nil && p.ReachOnly && v.cert != nil {
		_, why := Classify(ctx, v.err)
		return passWith(res, fmt.Sprintf("%s handshake with %s completed (certificate issued by %s; its chain is not judged here: %s)",
			tlsVersion(state.Version), res.Dialled, v.cert.Issuer, why))
	}
	if v.err != nil {
		reason, msg := Classify(ctx, v.err)
		return mergeFail(res, reason, PhaseTLS, msg)
	}
	if v.intercepted {
		return intercepted(res, v, p.InterceptIsWarn)
	}
	return passWith(res, fmt.Sprintf("%s handshake with %s, certificate for %s issued by %s", tlsVersion(state.Version), res.Dialled, p.Host, v.cert.Issuer))
}

// handshakeFailure says what the handshake's failure looked like on the wire.
// got is how many bytes the server sent meanwhile: a server that answers
// and stalls (or trickles) is not one that never answered.
func handshakeFailure(ctx context.Context, res Result, err error, host string, took time.Duration, got int64) Result {
	reason, msg := Classify(ctx, err)
	switch {
	case reason == ReasonDeadline:
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// The TCP handshake completed and the connection died once the
		// ClientHello with the server name was sent: the mark of a firewall
		// filtering by name (or an application rule that does not list it).
		reason = ReasonReset
		msg = fmt.Sprintf("TCP connected, then the connection was cut right after the ClientHello for %s (%s): a firewall filtering by server name", host, resetWord(err))
	case reason == ReasonTimeout && got > 0:
		msg = fmt.Sprintf("TCP connected and the server began answering the ClientHello for %s, but the handshake did not complete within %s (%d bytes came: a server or appliance trickling or stalling its answer)", host, roundMS(took), got)
	case reason == ReasonTimeout:
		msg = fmt.Sprintf("TCP connected, but no answer to the ClientHello for %s within %s (a stalled handshake: an appliance that holds the connection)", host, roundMS(took))
	case reason == ReasonError:
		reason = ReasonTLSHandshake
		msg = "TLS handshake failed: " + ErrorText(err)
	}
	return mergeFail(res, reason, PhaseTLS, msg)
}

// countingConn counts the bytes read from the peer.
type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func resetWord(err error) string {
	if errors.Is(err, syscall.ECONNRESET) {
		return "TCP RST"
	}
	return "connection closed"
}

// clientHello is the TLS configuration of every probe: TLS 1.2 and 1.3 with
// the classic key exchanges (X25519, P-256) that API Management's own
// clients offer. Go's default also sends a post-quantum X25519MLKEM768 key
// share: a ClientHello of over 1,200 bytes that no Azure dependency needs,
// that some middleboxes mishandle (a probe must look like the traffic it
// stands for), and whose key generation was a tenth of a run's CPU time.
// Verification is done by hand (verifyChain) so that the presented chain is
// in evidence even when it is not trusted.
func clientHello() *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		CurvePreferences:   []tls.CurveID{tls.X25519, tls.CurveP256},
	}
}

func withVerify(c *tls.Config, verify func(tls.ConnectionState) error) *tls.Config {
	c.VerifyConnection = verify
	return c
}

type verification struct {
	err         error
	intercepted bool
	cert        *CertSeen
}

// verifyChain checks the presented chain against host and the trust store and
// records subject, issuer, root, names and expiry; judgeChain says whether
// the chain is trusted here and whether it is intercepted.
func verifyChain(state tls.ConnectionState, host string, roots, azureRoots *x509.CertPool) verification {
	if len(state.PeerCertificates) == 0 {
		return verification{err: errors.New("the server presented no certificate")}
	}
	leaf := state.PeerCertificates[0]
	v := verification{cert: certSeen(leaf, state.Version)}
	// No name (an address dialled as itself, which sends no SNI): the
	// chain is still judged, as x509.Verify does without a DNSName.
	if host != "" {
		if err := leaf.VerifyHostname(host); err != nil {
			v.err = err
			return v
		}
	}
	j := judgeChain(state.PeerCertificates, roots, azureRoots)
	if j.err != nil {
		v.err = j.err
		return v
	}
	v.intercepted = j.intercepted
	v.cert.Root, v.cert.RootSHA256, v.cert.Intercepted = Untrusted(j.root.Subject.String(), 0), j.rootSHA256, j.intercepted
	return v
}

// certSeen is what a report shows of a presented certificate: its fields
// are the server's (or an inspecting proxy's) words, bounded and cleaned.
func certSeen(leaf *x509.Certificate, version uint16) *CertSeen {
	return &CertSeen{
		Version: tlsVersion(version), Subject: Untrusted(leaf.Subject.String(), 0), Issuer: Untrusted(leaf.Issuer.String(), 0),
		SANs: UntrustedAll(leaf.DNSNames, 0), NotAfter: leaf.NotAfter, sanTotal: len(leaf.DNSNames),
	}
}

// chainJudgement is what a presented chain is, whatever host presented it:
// trusted here or not, and where it leads.
type chainJudgement struct {
	err         error
	root        *x509.Certificate
	rootSHA256  string
	intercepted bool
}

type chainKey struct {
	chain             [sha256.Size]byte
	roots, azureRoots *x509.CertPool
}

// chains remembers each presented chain's judgement for the life of the
// process (a run): many Azure hosts present the same chain (the metrics
// hosts share one certificate), and verifying it twice against two root
// sets was a fifth of a run's CPU time. The host name is checked per host,
// before. Bounded: a run sees a few dozen chains.
var chains = struct {
	sync.Mutex
	m map[chainKey]chainJudgement
}{m: map[chainKey]chainJudgement{}}

const maxChains = 512

func judgeChain(presented []*x509.Certificate, roots, azureRoots *x509.CertPool) chainJudgement {
	h := sha256.New()
	for _, c := range presented {
		h.Write(c.Raw)
	}
	key := chainKey{roots: roots, azureRoots: azureRoots}
	h.Sum(key.chain[:0])
	chains.Lock()
	j, ok := chains.m[key]
	chains.Unlock()
	if ok {
		return j
	}
	j = verifyPresented(presented, roots, azureRoots)
	chains.Lock()
	if len(chains.m) >= maxChains {
		clear(chains.m)
	}
	chains.m[key] = j
	chains.Unlock()
	return j
}

// verifyPresented verifies the chain against this machine's trust store and,
// when azureRoots is given, judges interception: a chain trusted here that
// does not also lead to one of them. azureroots.ChainEndsAtAzureRoot judges
// that, walking cross-signed paths (Azure's chains reach Microsoft's roots
// through DigiCert's, and either may be where this machine stopped).
func verifyPresented(presented []*x509.Certificate, roots, azureRoots *x509.CertPool) chainJudgement {
	inter := x509.NewCertPool()
	for _, c := range presented[1:] {
		inter.AddCert(c)
	}
	verified, err := presented[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return chainJudgement{err: err}
	}
	j := chainJudgement{root: verified[0][len(verified[0])-1]}
	if azureRoots != nil {
		genuine, reached := azureroots.ChainEndsAtAzureRoot(verified, azureRoots)
		j.intercepted, j.root = !genuine, reached
	}
	sum := sha256.Sum256(j.root.Raw)
	j.rootSHA256 = hex.EncodeToString(sum[:])
	return j
}

func intercepted(res Result, v verification, warn bool) Result {
	msg := fmt.Sprintf("the certificate chain is trusted by this machine but ends at %q, not at a genuine Azure root: a TLS-inspecting proxy or firewall is in the path (issuer %q)",
		v.cert.Root, v.cert.Issuer)
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
