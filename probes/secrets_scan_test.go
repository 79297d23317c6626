package probes

import (
	"strings"
	"testing"
)

// mayHoldSecretWordByWord is the test as it was: a search per word.
func mayHoldSecretWordByWord(s string) bool {
	if strings.Contains(s, "eyJ") {
		return true
	}
	l := strings.ToLower(s)
	for _, w := range []string{"bearer", "token", "secret", "authorization", "assertion", "x-identity-header"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// The one-pass test says what a search per word says, for any string.
func FuzzMayHoldSecret(f *testing.F) {
	for _, s := range []string{"", "eyJhbGciOi", "EYJ", "Bearer abc", "the TOKEN", "x-Identity-Header: 1", "assertio", "authorizatio",
		"client_secret=", "secre", "tokeN", "BEARE", "plain text from a check", "\xff\xfeB\xc3\x9fearer"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// strings.ToLower changes non-ASCII runes too; the words are ASCII,
		// so compare on ASCII input only.
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		if got, want := mayHoldSecret(s), mayHoldSecretWordByWord(s); got != want {
			t.Fatalf("%q: %v, want %v", s, got, want)
		}
	})
}

func BenchmarkMayHoldSecret(b *testing.B) {
	s := "TCP connected, then the connection was cut right after the ClientHello for gcs.prod.monitoring.core.windows.net (reset): a firewall filtering by server name"
	for b.Loop() {
		mayHoldSecret(s)
	}
}
