package catalog

import (
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/probes"
)

// The judges read what a server (or whatever answers in its name) sent:
// their messages must stay one bounded, printable line whatever it was, and
// a verdict is always a known word.
func FuzzJudges(f *testing.F) {
	f.Add(uint8(0), 200, "", []byte(`<?xml version="1.0"?><edmx:Edmx Version="4.0">`))
	f.Add(uint8(0), 200, "", []byte("<html>\x1b[31mAccess denied\x1b[0m</html>"))
	f.Add(uint8(0), 403, "", []byte(strings.Repeat("\xff", 300)))
	f.Add(uint8(1), 401, `Bearer authorization="https://login.microsoftonline.com/t"`, []byte(nil))
	f.Add(uint8(1), 401, "Basic realm=\"\x1b]0;pwned\x07\"", []byte(nil))
	f.Add(uint8(1), 200, "", []byte("hello\nworld"))
	f.Add(uint8(1), 401, strings.Repeat("Negotiate ", 2000), []byte(nil)) // a header of any length
	f.Add(uint8(2), 503, "", []byte(nil))
	f.Add(uint8(3), 407, "", []byte(nil))
	judges := []Expectation{ExpectGraphMetadata, ExpectVaultChallenge, ExpectGatewayStatus, ExpectAnyHTTP}
	f.Fuzz(func(t *testing.T, which uint8, status int, challenge string, body []byte) {
		judge := expectation(Endpoint{Expect: judges[int(which)%len(judges)]})
		h := http.Header{}
		h["Www-Authenticate"] = []string{challenge}
		r := judge(status, h, body)
		if r == nil {
			return
		}
		switch r.Status {
		case probes.Fail, probes.Warn, probes.Pass, probes.Skip:
		default:
			t.Fatalf("status %q", r.Status)
		}
		if utf8.RuneCountInString(r.Message) > 500 {
			t.Fatalf("message of %d runes", utf8.RuneCountInString(r.Message))
		}
		for _, c := range r.Message {
			if unicode.IsControl(c) {
				t.Fatalf("control character %q in %q", c, r.Message)
			}
		}
	})
}
