package probes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// A certificate's fields are the server's words (or an inspecting proxy's):
// whatever a DER certificate that parses holds, what the report shows of it
// is bounded and has no control character, in the evidence as JSON renders
// it and in the message that quotes the issuer.
func FuzzCertificateFields(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, cn := range []string{"graph.microsoft.com", "evil\x1b[2J\x1b]0;title\x07", "\u202eexe.txt", strings.Repeat("A", 3000)} {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"line\nbreak"}},
			Issuer: pkix.Name{CommonName: cn}, DNSNames: []string{"x.example\x1b[1m", "y.example"},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		seen := certSeen(leaf, tls.VersionTLS12)
		r := Result{Cert: seen}
		b, err := json.Marshal(r.EvidenceMap())
		if err != nil {
			t.Fatal(err)
		}
		// What JSON escapes for HTML (\u0026 for &) is no control
		// character: read the values back and look at their runes.
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for k, v := range back {
			vs := []any{v}
			if list, ok := v.([]any); ok {
				vs = list
			}
			for _, e := range vs {
				if str, ok := e.(string); ok && strings.IndexFunc(str, unicode.IsControl) >= 0 {
					t.Fatalf("a control character in %s: %q", k, str)
				}
			}
		}
		_, msg := Classify(context.Background(), x509.UnknownAuthorityError{Cert: leaf})
		for _, s := range append([]string{seen.Subject, seen.Issuer, msg}, seen.SANs...) {
			if utf8.RuneCountInString(s) > MaxUntrusted+200 {
				t.Fatalf("a field of %d runes", utf8.RuneCountInString(s))
			}
			for _, c := range s {
				if unicode.IsControl(c) || isBidiControl(c) {
					t.Fatalf("control character %q in %q", c, s)
				}
			}
		}
	})
}

// Untrusted keeps its promises for any input: bounded, printable, valid
// UTF-8, and no query string left on a URL.
func FuzzUntrusted(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31m", "https://h/p?sig=S", `Get "https://a/b?key=K#f": EOF`, "\xff\xfe", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Untrusted(s, 0)
		if !utf8.ValidString(out) || utf8.RuneCountInString(out) > MaxUntrusted+1 {
			t.Fatalf("Untrusted(%q) = %q", s, out)
		}
		for _, c := range out {
			if unicode.IsControl(c) || isBidiControl(c) {
				t.Fatalf("control character %q in %q", c, out)
			}
		}
	})
}

// FuzzHTTPProbe is the HTTP probe against a server whose every byte is the
// fuzzer's: a loopback listener writes the fuzzed answer (status line,
// headers, body, as raw bytes) and hangs up. Whatever it sends, the probe
// returns within its limit with a known status and a bounded, printable
// message. Redirects are not followed here (MaxRedirects -1): a fuzzed
// Location must never send a request off this machine.
func FuzzHTTPProbe(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 302 Found\r\nLocation: http://198.18.0.1/\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<html>\x1b[31mdown\x1b[0m</html>"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
	f.Add([]byte("HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Bearer authorization=\"https://login.example/\u202e\"\r\n\r\n"))
	f.Add([]byte("garbage\r\n\r\n"))
	f.Add([]byte(""))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Skip(err)
	}
	f.Cleanup(func() { l.Close() })
	answers := make(chan []byte, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var answer []byte
			select {
			case answer = <-answers:
			default: // a second connection for one input: hang up
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 4096)
				c.Read(buf) // the request's first bytes; the rest is not awaited
				c.Write(answer)
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	f.Fuzz(func(t *testing.T, answer []byte) {
		answers <- answer
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p := HTTP{URL: fmt.Sprintf("http://svc.test:%d/status-0123456789abcdef", port), Resolver: mapResolver{"svc.test": {"127.0.0.1"}},
			Expect: ExpectStatus(200), MaxRedirects: -1, MaxBody: 4 << 10}
		start := time.Now()
		r := clean(p.Run(ctx))
		select {
		case <-answers: // not taken: the probe never connected
		default:
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("the probe took %s", took)
		}
		switch r.Status {
		case Pass, Warn, Fail, Skip:
		default:
			t.Fatalf("status %q", r.Status)
		}
		if utf8.RuneCountInString(r.Message) > 2100 || strings.ContainsFunc(r.Message, unicode.IsControl) {
			t.Fatalf("message %q", r.Message)
		}
		if _, err := json.Marshal(r.Evidence); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}
