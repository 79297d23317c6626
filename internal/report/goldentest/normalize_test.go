package goldentest

import (
	"strings"
	"testing"
)

// Two runs of one scenario differ in what they measured and what raced;
// normalised, they are the same file, fields in their order, and what the
// scenario shows (reasons, addresses, the flags given, the chosen server's
// answer) is kept.
func TestTwoRunsNormaliseAlike(t *testing.T) {
	run := func(ms, rtt, when, fp, raced string) string {
		return `{
  "started_at": "` + when + `",
  "duration_ms": ` + ms + `,
  "context": {"command": "apimprobe run --timeout 2s"},
  "checks": [
    {
      "id": "outbound.sql",
      "reason": "timeout",
      "message": "no answer to TCP SYN to 198.19.16.8:1433 within ` + ms + `ms; clock offset -` + ms + `ms at ` + when + ` (v2s)",
      "phases": {"connect_ms": ` + ms + `},
      "evidence": {
        "tls_root_sha256": "` + fp + `",
        "tls_not_after": "` + when + `",
        "dns": {"chosen": "198.18.2.53:53", "resolvers": [
          {"resolver": "198.18.2.53:53", "role": "vnet", "outcome": "ok", "rtt_ms": ` + rtt + `, "answers": [{"address": "198.19.16.8"}]},
          {"resolver": "198.18.2.16:53", "role": "azure", "outcome": "` + raced + `", "rtt_ms": ` + rtt + `}
        ]}
      }
    }
  ]
}`
	}
	a, err := Normalize([]byte(run("2001", "4.56", "2026-12-04T23:36:33.61Z", strings.Repeat("ab", 32), "pending")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Normalize([]byte(run("7", "0.12", "2026-12-05T00:01:12Z", strings.Repeat("cd", 32), "ok")))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("two runs normalise apart:\n%s\n---\n%s", a, b)
	}
	again, err := Normalize(a)
	if err != nil || string(again) != string(a) {
		t.Fatalf("normalising twice changes the file (%v):\n%s\n---\n%s", err, a, again)
	}
	got := string(a)
	for _, kept := range []string{`"reason": "timeout"`, "198.19.16.8:1433", "--timeout 2s", `"address": "198.19.16.8"`, "(v2s)", `"outcome": "` + MaskRace + `"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("lost %s:\n%s", kept, got)
		}
	}
	for _, gone := range []string{"2001", "4.56", "2026-12-04", "abab", `"pending"`} {
		if strings.Contains(got, gone) {
			t.Errorf("kept %s:\n%s", gone, got)
		}
	}
	if strings.Index(got, "started_at") > strings.Index(got, "checks") || strings.Index(got, `"id"`) > strings.Index(got, `"reason"`) {
		t.Errorf("fields out of their order:\n%s", got)
	}
}
