package egress

import (
	"strings"
	"testing"
	"unicode"
)

// The echo answer is whatever answered at the echo URL (a block page, a
// captive portal): ParseAnswer returns an address or an error, and the
// error, which lands in the check's message, is one bounded, printable line.
func FuzzParseAnswer(f *testing.F) {
	for _, seed := range []string{
		"203.0.113.9\n", `{"ip":"203.0.113.9"}`, `{"origin":"2001:db8::1"}`, `{"ip":7}`, `{"ip":"fe80::1%eth0"}`,
		"<html>\x1b[31mAccess denied\x1b[0m</html>", "::ffff:10.0.0.1", `{`, strings.Repeat("9", 5000), "\u202e1.2.3.4",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ip, err := ParseAnswer(body)
		if err == nil {
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("ParseAnswer(%q) = %v", body, ip)
			}
			return
		}
		msg := err.Error()
		if len(msg) > 400 {
			t.Fatalf("an error of %d bytes", len(msg))
		}
		for _, r := range msg {
			if unicode.IsControl(r) {
				t.Fatalf("control character %q in %q", r, msg)
			}
		}
	})
}
