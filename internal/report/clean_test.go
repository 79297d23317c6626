package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/apimprobe/apimprobe/probes"
)

// Whatever came from the network, a cleaned report has no control
// character and no string past MaxText, in any field or evidence value.
func TestCleanLeavesNothingUnprintable(t *testing.T) {
	hostile := "gw\x1b[31mRED\x1b[0m\nfake_series{x=\"1\"} 1\r\x00" + strings.Repeat("A", 3*MaxText) + "\xff"
	type nested struct {
		Name   string   `json:"name"`
		Answer []string `json:"answer"`
	}
	r := &Report{
		Context: Context{Region: hostile, Sources: map[string]string{"region": hostile}, Resolvers: []string{hostile},
			Instance: &Instance{ID: hostile, Locations: []string{hostile}}},
		Summary: Summary{Headline: hostile},
		Checks: []Check{{ID: "outbound.sql", Title: hostile, Target: hostile, Message: hostile, Hint: hostile,
			Status: probes.Fail, Addresses: []string{hostile},
			Evidence: map[string]any{"dns": nested{Name: hostile, Answer: []string{hostile}}, hostile: 1232, "n": []any{hostile, 3}}}},
		Findings: []Finding{{Title: hostile, Cause: hostile, Evidence: map[string]any{"x": hostile}, Fix: Fix{Summary: hostile, Commands: []string{hostile}}}},
	}
	r.Clean()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if len([]rune(x)) > MaxText+1 {
				t.Errorf("a string of %d runes is left", len([]rune(x)))
			}
			for _, c := range x {
				if unicode.IsControl(c) {
					t.Fatalf("control character %q left in %.40q", c, x)
				}
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var plain any
	json.Unmarshal(b, &plain)
	walk(plain)
	if got := r.Checks[0].Evidence["dns"].(map[string]any)["name"].(string); !strings.HasPrefix(got, "gw [31mRED") {
		t.Errorf("cleaning changed more than the control characters: %.30q", got)
	}
	if r.Checks[0].Evidence[CleanText(hostile)] != float64(1232) {
		t.Errorf("numbers must survive: %v", r.Checks[0].Evidence)
	}
}

func TestCleanTextKeepsWhatIsFine(t *testing.T) {
	for _, s := range []string{"", "contoso.azure-api.net", "Azure → Internet · 10 ms", "日本語"} {
		if CleanText(s) != s {
			t.Errorf("%q became %q", s, CleanText(s))
		}
	}
}

// Cleaning a real lab report (70 checks with their DNS evidence).
func BenchmarkCleanLabReport(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "output", "testdata", "lab", "dns-resolver-silent.json"))
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		var r Report
		if err := json.Unmarshal(raw, &r); err != nil {
			b.Fatal(err)
		}
		r.Clean()
	}
}
