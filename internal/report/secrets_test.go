package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// A token in any string of a report (a message quoting an identity
// endpoint's answer, typed evidence, a finding) is gone after Clean.
func TestCleanRemovesTokens(t *testing.T) {
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXNpZw"
	const opaque = "0pAqUe-t0ken_VALUE.1234567890abcdef"
	msg := "HTTP 400: {\"access_token\":\"" + opaque + "\",\"echo\":\"Authorization: Bearer " + jwt + "\"}"
	type typed struct {
		Body string `json:"body"`
	}
	r := &Report{
		Context: Context{Command: "apimprobe run --imds-endpoint http://x/?t=" + jwt},
		Summary: Summary{Headline: msg},
		Checks: []Check{{ID: "route.forced-tunnel", Message: msg, Hint: "Bearer " + opaque, Status: probes.Skip,
			Evidence: map[string]any{"error": msg, "typed": typed{Body: msg}, "list": []string{jwt}}}},
		Findings: []Finding{{Title: "x", Cause: msg, Evidence: map[string]any{"read": map[string]any{"message": msg}},
			Fix: Fix{Summary: msg, Commands: []string{"curl -H 'Authorization: Bearer " + opaque + "'"}}}},
	}
	r.Clean()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "eyJ0eXAi") || strings.Contains(s, "0pAqUe") || !strings.Contains(s, probes.Redacted) {
		t.Fatalf("a token survived Clean: %s", s)
	}
}
