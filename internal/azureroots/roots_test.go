package azureroots

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltinSet(t *testing.T) {
	certs := DefaultCertificates()
	want := []string{
		"Microsoft RSA Root Certificate Authority 2017",
		"Microsoft ECC Root Certificate Authority 2017",
		"DigiCert Global Root G2",
		"DigiCert Global Root G3",
		"DigiCert Global Root CA",
		"Baltimore CyberTrust Root",
	}
	if len(certs) != len(want) {
		t.Fatalf("%d built-in roots, want %d", len(certs), len(want))
	}
	for i, c := range certs {
		if c.Subject.CommonName != want[i] || !c.IsCA {
			t.Errorf("root %d = %q (CA %v), want %q", i, c.Subject.CommonName, c.IsCA, want[i])
		}
		// Roots are trust anchors: self-issued (some self-signed with
		// SHA-1, which Go does not check on a root).
		if string(c.RawSubject) != string(c.RawIssuer) {
			t.Errorf("%s is not a self-issued root", c.Subject.CommonName)
		}
	}
	if Default() == nil {
		t.Fatal("nil default pool")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := newCA(t, "Lab Azure Root", nil)
	good := write("good.pem", append([]byte("# a comment line\n"), pemOf(ca.cert)...))
	pool, err := Load(good)
	if err != nil || pool == nil {
		t.Fatalf("good file: %v", err)
	}
	leaf := ca.issue(t, "storage.test", false)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "storage.test"}); err != nil {
		t.Errorf("loaded pool does not verify its own leaf: %v", err)
	}

	keyOnly := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	badCert := write("bad.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))
	cases := map[string]string{
		write("text.txt", []byte("hello\n")): "not PEM",
		write("empty.pem", nil):              "not PEM",
		keyOnly:                              "no certificates",
		badCert:                              "does not parse",
		filepath.Join(dir, "missing.pem"):    "cannot read",
		dir:                                  "cannot read",
	}
	for path, want := range cases {
		err := Validate(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--azure-roots") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("Validate(%s) = %v, want a one-line error containing %q", filepath.Base(path), err, want)
		}
	}
}

func TestChainEndsAtAzureRoot(t *testing.T) {
	azureRoot := newCA(t, "Lab Azure Root", nil)
	issuing := newCA(t, "Lab Azure TLS Issuing CA", azureRoot)
	inspector := newCA(t, "Contoso Firewall Inspection CA", nil)
	unknown := newCA(t, "Nobody Trusts This CA", nil)
	azure := poolOf([]*x509.Certificate{azureRoot.cert})
	machine := poolOf([]*x509.Certificate{azureRoot.cert, inspector.cert})

	chains := func(leaf *x509.Certificate, inter ...*x509.Certificate) [][]*x509.Certificate {
		t.Helper()
		ch, err := leaf.Verify(x509.VerifyOptions{Roots: machine, Intermediates: poolOf(inter), DNSName: "storage.test"})
		if err != nil {
			return nil
		}
		return ch
	}

	// Genuine: leaf ← issuing CA ← Azure root.
	ok, root := ChainEndsAtAzureRoot(chains(issuing.issue(t, "storage.test", false), issuing.cert), azure)
	if !ok || root == nil || root.Subject.CommonName != "Lab Azure Root" {
		t.Errorf("genuine chain: %v %v", ok, name(root))
	}
	// Inspected: the firewall re-signs with a CA this machine trusts.
	ok, root = ChainEndsAtAzureRoot(chains(inspector.issue(t, "storage.test", false)), azure)
	if ok || root == nil || root.Subject.CommonName != "Contoso Firewall Inspection CA" {
		t.Errorf("inspected chain: %v %v", ok, name(root))
	}
	// Unknown CA: the machine does not verify it, so there is no chain and
	// nothing to call intercepted (the TLS probe reports tls-untrusted).
	ok, root = ChainEndsAtAzureRoot(chains(unknown.issue(t, "storage.test", false)), azure)
	if ok || root != nil {
		t.Errorf("unknown CA: %v %v", ok, name(root))
	}
	// Cross-signed: the machine trusts only an older root that cross-signs
	// the Azure root; the chain still passes through the genuine root.
	older := newCA(t, "Lab Older Root", nil)
	cross := older.crossSign(t, azureRoot)
	machine = poolOf([]*x509.Certificate{older.cert})
	leaf := issuing.issue(t, "storage.test", false)
	ch := chains(leaf, issuing.cert, cross)
	if len(ch) == 0 || ch[0][len(ch[0])-1].Subject.CommonName != "Lab Older Root" {
		t.Fatalf("cross-signed setup: chains %v", ch)
	}
	ok, root = ChainEndsAtAzureRoot(ch, azure)
	if !ok || name(root) != "Lab Azure Root" {
		t.Errorf("cross-signed chain: %v %v", ok, name(root))
	}
	if ok, _ := ChainEndsAtAzureRoot(ch, nil); ok {
		t.Error("nil roots matched")
	}
	if ok, root := ChainEndsAtAzureRoot([][]*x509.Certificate{{}}, azure); ok || root != nil {
		t.Error("empty chain matched")
	}
}

// Over a real handshake on loopback: the chains a TLS client verified are
// the input the lead's TLS probe passes.
func TestChainFromHandshake(t *testing.T) {
	inspector := newCA(t, "Contoso Firewall Inspection CA", nil)
	leafCert, key := inspector.issueWithKey(t, "127.0.0.1", true)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{
		Certificate: [][]byte{leafCert.Raw}, PrivateKey: key,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: poolOf([]*x509.Certificate{inspector.cert}), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ok, root := ChainEndsAtAzureRoot(conn.ConnectionState().VerifiedChains, Default())
	if ok || name(root) != "Contoso Firewall Inspection CA" {
		t.Errorf("handshake through an inspector: %v %v", ok, name(root))
	}
}

func name(c *x509.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	return c.Subject.CommonName
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64 = 100

func nextSerial() *big.Int { serial++; return big.NewInt(serial) }

func newCA(t *testing.T, cn string, parent *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key}
}

// crossSign issues a certificate for other's subject and key, signed by ca.
func (ca *testCA) crossSign(t *testing.T, other *testCA) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: other.cert.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, other.key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func (ca *testCA) issue(t *testing.T, host string, ip bool) *x509.Certificate {
	c, _ := ca.issueWithKey(t, host, ip)
	return c
}

func (ca *testCA) issueWithKey(t *testing.T, host string, ip bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip {
		tmpl.IPAddresses = []net.IP{net.ParseIP(host)}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
