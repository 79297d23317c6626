package report_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

// The schema's closed vocabularies are the code's: a reason added to
// probes/vocab.go without the schema (or the other way round) fails here.
func TestSchemaVocabulariesMatchTheCode(t *testing.T) {
	var s struct {
		Defs map[string]struct {
			Enum       []string `json:"enum"`
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(report.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	words := func(v []string) []string { return slices.Sorted(slices.Values(v)) }
	for _, tc := range []struct {
		name      string
		got, want []string
	}{
		{"status", s.Defs["status"].Enum, strs(probes.Statuses())},
		{"reason", s.Defs["reason"].Enum, strs(probes.Reasons())},
		{"failed_phase", s.Defs["check"].Properties["failed_phase"].Enum, strs(probes.Phases())},
		{"kind", s.Defs["check"].Properties["kind"].Enum, strs(probes.Kinds())},
		{"mode", s.Defs["context"].Properties["mode"].Enum, strs(probes.Modes())},
		{"cloud", s.Defs["context"].Properties["cloud"].Enum, strs(probes.Clouds())},
		{"verdict", s.Defs["summary"].Properties["verdict"].Enum, []string{report.Ready, report.Degraded, report.Blocked, report.Interrupted}},
	} {
		if !slices.Equal(words(tc.got), words(tc.want)) {
			t.Errorf("%s: schema %v, code %v", tc.name, tc.got, tc.want)
		}
	}
}

func strs[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, w := range v {
		out[i] = string(w)
	}
	return out
}

func validReport() *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "apimprobe", Version: "1.0.0", Commit: "abc"},
		StartedAt:     time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Context:       report.Context{Cloud: probes.CloudPublic, Mode: probes.ModeInternal, Phase: probes.DeployPost, Service: "contoso"},
		Checks: []report.Check{
			{ID: "outbound.sql", Title: "Azure SQL", Category: "Azure SQL", Required: true, Kind: "tcp",
				Status: probes.Fail, Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseConnect, Hint: "open 1433",
				Since: time.Date(2026, 11, 21, 9, 55, 0, 0, time.UTC)},
			{ID: "outbound.storage.blob", Title: "Blob", Category: "Azure Storage", Required: true, Kind: "tls",
				Status: probes.Skip, Reason: probes.ReasonNoData},
		},
		Changes: []report.Change{{ID: "outbound.sql", From: probes.Pass, To: probes.Fail, Since: time.Date(2026, 11, 21, 9, 55, 0, 0, time.UTC)}},
	}
	r.Summary = report.Summarize(r.Checks)
	return r
}

func TestSchemaAcceptsAReport(t *testing.T) {
	schematest.ValidateReport(t, validReport())
}

// The validator must be able to say no: each break of the contract is
// refused, with the schema's reason.
func TestSchemaRefusesBrokenReports(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(m map[string]any)
		want   string
	}{
		{"reason outside the vocabulary", func(m map[string]any) { check(m, 0)["reason"] = "firewall" }, "reason"},
		{"skip with a failure's reason", func(m map[string]any) { check(m, 1)["reason"] = "timeout" }, "reason"},
		{"fail without a hint", func(m map[string]any) { delete(check(m, 0), "hint") }, "hint"},
		{"no verdict", func(m map[string]any) { delete(m["summary"].(map[string]any), "verdict") }, "verdict"},
		{"unknown top-level field", func(m map[string]any) { m["verdict"] = "ready" }, "verdict"},
		{"started_at not a date-time", func(m map[string]any) { m["started_at"] = "yesterday" }, "date-time"},
		{"change to a non-status", func(m map[string]any) { m["changes"].([]any)[0].(map[string]any)["to"] = "red" }, "to"},
		{"interrupted false", func(m map[string]any) { m["interrupted"] = false }, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(validReport())
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tc.break_(m)
			b, _ = json.Marshal(m)
			err := schematest.Check(b)
			if err == nil {
				t.Fatal("the schema accepted a broken report")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused, but not for %q: %v", tc.want, err)
			}
		})
	}
}

func check(m map[string]any, i int) map[string]any {
	return m["checks"].([]any)[i].(map[string]any)
}
