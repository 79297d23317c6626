package report

import (
	"encoding/json"
	"fmt"
	"net/netip"
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
	if fmt.Sprint(r.Checks[0].Evidence[CleanText(hostile)]) != "1232" {
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
	// Decoded once: what a run cleans is the report, not its JSON.
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r.Clean()
	}
}

// shouted writes itself in capitals: JSON writes what MarshalText says.
type shouted string

func (s shouted) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(s))), nil }

// cleanEvidence walks the shapes probes use without a JSON round trip; the
// report it writes is the same as the round trip's, byte for byte.
func TestCleanEvidenceWritesWhatTheRoundTripWrote(t *testing.T) {
	type answer struct {
		Name string  `json:"name"`
		RTT  float64 `json:"rtt_ms"`
		Addr netip.Addr
	}
	type answerSet map[string][]answer
	ev := map[string]any{
		"n": 1232, "big": int64(1) << 40, "port": uint16(443), "ratio": 0.05, "ok": true, "none": nil,
		"sans":      []string{"a.example", "b\x1b[31m.example"},
		"hops":      map[string]string{"Internet": "2", "x\ny": "z"},
		"answers":   []answer{{"gw\x07", 0.25, netip.MustParseAddr("198.18.1.5")}},
		"nested":    map[string]any{"list": []any{"x\ty", 3, map[string]any{"k": []string{"v"}}}},
		"typed_map": map[string]int{"a": 1},
		"reason":    probes.ReasonTimeout,
		"phase":     probes.Phase("tls\x1b[0m"),
		"shouted":   shouted("quiet"),
		"bad_keys":  []answerSet{{"x\ny": {{Name: "n\x07"}}, "ok": nil}},
	}
	roundTrip := func(v any) any {
		b, _ := json.Marshal(v)
		var plain any
		json.Unmarshal(b, &plain)
		out, _ := cleanValue(plain)
		return out
	}
	want, _ := json.Marshal(roundTrip(ev))
	got, _ := json.Marshal(cleanEvidence(ev))
	if string(got) != string(want) {
		t.Errorf("written differently:\n got %s\nwant %s", got, want)
	}
	for _, esc := range []string{`\u001b`, `\u0007`, `\n`, `\t`} {
		if strings.Contains(string(got), esc) {
			t.Errorf("a control character (%s) survived: %s", esc, got)
		}
	}
	if ev["sans"].([]string)[1] != "b\x1b[31m.example" {
		t.Error("the probe's evidence was changed in place")
	}
}
