package probes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

// mapResolver answers from a table; unknown names are NXDOMAIN.
type mapResolver map[string][]string

// AnswersLoopback: the test's servers live on 127.0.0.1 (probes.LoopbackAnswers).
func (mapResolver) AnswersLoopback() bool { return true }

func (m mapResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func portOf(t testing.TB, addr net.Addr) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(p)
	return n
}

// acceptingListener accepts and holds connections until the test ends.
func acceptingListener(t testing.TB, handle func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handle == nil {
		handle = func(c net.Conn) { t.Cleanup(func() { c.Close() }) }
	}
	testtool.Serve(t, ln, handle)
	return portOf(t, ln.Addr())
}

// refusedPort is a port nothing listens on: the kernel answers SYN with RST.
func refusedPort(t testing.TB) int { return int(testtool.Refusing(t).Port()) }

// silentPort is a listening socket with backlog 0 whose one queue slot is
// taken by an unaccepted connection: further SYNs are dropped, so a dial
// times out, the way an NSG's silent drop looks — without leaving loopback.
func silentPort(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	// Fill the queue: with backlog 0 Linux queues one connection (and may
	// take a second while the first completes); keep dialling until a dial
	// stalls.
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("could not fill the backlog of the silent listener")
	return 0
}

// testCA makes a CA and issues leaf certificates for names.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) leaf(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsListener serves TLS with cert on loopback, running serve on each
// established connection (nil: just complete the handshake and wait).
func tlsListener(t testing.TB, cert tls.Certificate, serve func(*tls.Conn)) int {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return acceptingListener(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		if serve != nil {
			serve(tc)
			return
		}
		buf := make([]byte, 1)
		tc.Read(buf)
	})
}

// resetAfterClientHello reads the ClientHello then aborts with a TCP RST,
// as a firewall that filters by server name does.
func resetAfterClientHello(c net.Conn) {
	buf := make([]byte, 512)
	c.Read(buf)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
