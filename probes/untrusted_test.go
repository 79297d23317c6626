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
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestUntrusted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"\x1b[31mred\x1b[0m", "?[31mred?[0m"},
		{"two\nlines\r\x00", "two?lines??"},
		{"\u202egnp.exe", "?gnp.exe"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{`Get "https://h.example/p?sig=SECRET&api-version=1": EOF`, `Get "https://h.example/p?api-version=1": EOF`},
		{"https://user:pw@h.example/x#frag", "https://h.example/x"},
		// A hint's command in backquotes: the quote ends the URL.
		{"Run `az rest --url https://h.example/s?api-version=1&sig=S` and check", "Run `az rest --url https://h.example/s?api-version=1` and check"},
	} {
		if got := Untrusted(tc.in, 0); got != tc.want {
			t.Errorf("Untrusted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := Untrusted(strings.Repeat("é", 5000), 0)
	if utf8.RuneCountInString(long) != MaxUntrusted+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("not bounded: %d runes", utf8.RuneCountInString(long))
	}
	// Printable ASCII within the bound comes back as it is, without a
	// copy; one byte over, it is cut.
	for n, want := range map[int]string{MaxUntrusted - 1: strings.Repeat("a", MaxUntrusted-1), MaxUntrusted: strings.Repeat("a", MaxUntrusted),
		MaxUntrusted + 1: strings.Repeat("a", MaxUntrusted) + "…"} {
		if got := Untrusted(strings.Repeat("a", n), 0); got != want {
			t.Errorf("%d bytes of ASCII: %d bytes back", n, len(got))
		}
	}
	if got := Untrusted("a\x7fb", 0); got != "a?b" {
		t.Errorf("DEL kept: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { Untrusted("login.microsoftonline.com", 0) }); n != 0 {
		t.Errorf("a host name cleaned in %v allocations", n)
	}
	if got := UntrustedAll([]string{"a", "b", "c"}, 2); len(got) != 3 || got[2] != "… 1 more" {
		t.Errorf("UntrustedAll = %q", got)
	}
	if got := ScrubURL("not a url %zz?key=K"); strings.Contains(got, "K") {
		t.Errorf("ScrubURL kept the query of an unparsable URL: %q", got)
	}
	if got := URLTarget("https://h.example/ip?sig=S&api-version=2021").URL; got != "https://h.example/ip?api-version=2021" {
		t.Errorf("URLTarget = %q", got)
	}
}

// Every result the runner returns is clean, whatever the probe put in it,
// and the probe's own evidence map is not changed in place.
func TestRunnerCleansResults(t *testing.T) {
	ev := map[string]any{"body": "\x1b]0;pwned\x07", "list": []string{"ok", "a\nb"}, "nested": map[string]any{"u": "https://x.example/?sig=S"}}
	probe := ProbeFunc(func(context.Context) Result {
		r := Failf(ReasonHTTPBody, PhaseHTTP, "saw \x1b[2J"+strings.Repeat("x", 5000))
		r.Hint, r.Evidence = "fix\x1b[0m", ev
		return r
	})
	outs := Run(context.Background(), []Check{{ID: "c", Kind: KindHTTP, Probe: probe}}, RunOptions{Timeout: time.Second, Deadline: time.Second, Concurrency: 1})
	b, _ := json.Marshal(outs[0].Result)
	if s := string(b); strings.Contains(s, `\u001b`) || strings.Contains(s, `\n`) || strings.Contains(s, `\u0007`) || strings.Contains(s, "sig=S") {
		t.Errorf("result not clean: %s", s)
	}
	if n := utf8.RuneCountInString(outs[0].Result.Message); n > maxMessage+1 {
		t.Errorf("message of %d runes", n)
	}
	if ev["body"] != "\x1b]0;pwned\x07" {
		t.Errorf("the probe's evidence was changed in place")
	}
}

// A redirect's signature shows nowhere: not in a failure's message (Go's
// *url.Error quotes the whole URL), not in the evidence.
func TestHTTPRedirectSignatureShowsNowhere(t *testing.T) {
	ca := newCA(t, "Azure")
	const host = "echo.test"
	port := httpsServer(t, ca, host, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x?sig=SECRET", http.StatusFound)
	})
	for _, max := range []int{1, 3} {
		r := HTTP{URL: fmt.Sprintf("https://%s:%d/a?sig=SECRET", host, port), Resolver: mapResolver{host: {"127.0.0.1"}}, RootCAs: ca.pool, MaxRedirects: max}.Run(ctxTimeout(t, 2*time.Second))
		all := fmt.Sprint(r.Message, r.Evidence, r.Hint)
		if r.Status != Fail || strings.Contains(all, "SECRET") || !strings.Contains(r.Message, "redirects") {
			t.Errorf("max %d: %s/%s %s", max, r.Status, r.Reason, all)
		}
	}
}

// Certificate fields and answer bodies are rendered without their control
// characters: a subject with an escape sequence cannot repaint a terminal.
func TestCertificateFieldsAreCleaned(t *testing.T) {
	ca := newCA(t, "Azure")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "evil\x1b[2J\x1b]0;title\x07", Organization: []string{"line\nbreak"}},
		DNSNames: []string{"cert.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	port := tlsListener(t, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil)
	for name, pool := range map[string]*x509.CertPool{"trusted": ca.pool, "untrusted": x509.NewCertPool()} {
		r := TLS{Host: "cert.test", Port: port, Resolver: mapResolver{"cert.test": {"127.0.0.1"}}, RootCAs: pool}.Run(ctxTimeout(t, 2*time.Second))
		if r.Cert == nil {
			t.Fatalf("%s: no certificate seen: %s", name, r.Message)
		}
		b, _ := json.Marshal(r.EvidenceMap())
		all := string(b) + r.Message
		if strings.ContainsAny(all, "\x1b\x07\n") || strings.Contains(string(b), `\u001b`) || !strings.Contains(r.Cert.Subject, "evil?[2J") {
			t.Errorf("%s: %q %s", name, r.Message, b)
		}
	}
}
