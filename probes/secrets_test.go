package probes

import (
	"strings"
	"testing"
)

const (
	jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXNpZw"
	// opaque is a bearer token that is not a JWT.
	opaque = "0pAqUe-t0ken_VALUE.1234567890abcdef"
)

func TestScrubSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"token " + jwt + " echoed":                               "token [redacted] echoed",
		"cut short: " + jwt[:40]:                                 "cut short: [redacted]",
		"Authorization: Bearer " + opaque:                        "Authorization: Bearer [redacted]",
		"authorization=bearer%20" + opaque:                       "authorization=bearer [redacted]",
		`{"access_token":"` + opaque + `","expires_in":"86399"}`: `{"access_token":"[redacted]","expires_in":"86399"}`,
		"refresh_token=" + opaque + "&x=1":                       "refresh_token=[redacted]&x=1",
		`"Authorization": "REDACTED"`:                            `"Authorization": "[redacted]"`,
		"x-identity-header: " + opaque:                           "x-identity-header: [redacted]",
		// What is not a secret stays as it was.
		"the identity lacks Microsoft.Authorization/permissions/read":    "the identity lacks Microsoft.Authorization/permissions/read",
		"no Resource Manager token: the bearer token was not sent there": "no Resource Manager token: the bearer token was not sent there",
		"refused to follow a nextLink to https://h:1":                    "refused to follow a nextLink to https://h:1",
		"": "",
	} {
		if got := ScrubSecrets(in); got != want {
			t.Errorf("ScrubSecrets(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// Untrusted removes tokens before it cuts, so a token cut at the bound
// does not leave its start behind.
func TestUntrustedRemovesTokens(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("x", MaxUntrusted-20) + " " + jwt,
		"HTTP 400: Authorization: Bearer " + opaque,
		`{"access_token":"` + opaque + `"}`,
	} {
		got := Untrusted(in, 0)
		if strings.Contains(got, "eyJ0eXAi") || strings.Contains(got, "0pAqUe") {
			t.Errorf("Untrusted(%q) = %q", in, got)
		}
		if got := ErrorText(errString(in)); strings.Contains(got, "eyJ0eXAi") || strings.Contains(got, "0pAqUe") {
			t.Errorf("ErrorText(%q) = %q", in, got)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
