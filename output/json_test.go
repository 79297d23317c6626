package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// marshalIndentReport is what the json format wrote before it streamed:
// the report marshalled whole and indented.
func marshalIndentReport(t *testing.T, r *report.Report) []byte {
	t.Helper()
	out := *r
	if out.Checks == nil {
		out.Checks = []report.Check{}
	}
	raw, err := out.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// The streamed rendering is byte for byte the report marshalled whole and
// indented, for every shape of report: the lab's, none of the checks, no
// findings, changes, an interrupted run.
func TestJSONStreamedIsMarshalIndent(t *testing.T) {
	reports := map[string]*report.Report{
		"fixture":   fixtureReport(),
		"hostile":   hostileReport(),
		"no checks": {SchemaVersion: 1, Summary: report.Summary{Verdict: report.Ready}},
	}
	changed := fixtureReport()
	changed.Findings = nil
	changed.Changes = []report.Change{{ID: changed.Checks[0].ID, From: probes.Pass, To: probes.Fail, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	reports["changes, no findings"] = changed
	interrupted := fixtureReport()
	interrupted.MarkInterrupted()
	reports["interrupted"] = interrupted
	both := fixtureReport()
	both.Changes, both.Interrupted = changed.Changes, true
	reports["changes and interrupted"] = both
	one := fixtureReport()
	one.Checks = one.Checks[:1]
	reports["one check"] = one
	for name, r := range labScenarios(t) {
		reports["lab "+name] = r
	}
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			got := render(t, "json", r, Options{})
			if want := marshalIndentReport(t, r); !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("differs at byte %d: got %q, want %q", i, got[max(i-40, 0):min(i+40, len(got))], want[max(i-40, 0):min(i+40, len(want))])
			}
		})
	}
}

// renderJSON writes the fields after the checks itself: they must be
// Report's, in its order, with its tags.
func TestJSONFieldsAfterChecks(t *testing.T) {
	rt := reflect.TypeFor[report.Report]()
	var after []string
	seen := false
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Tag.Get("json") == "-" {
			continue
		}
		if seen {
			after = append(after, f.Name+" "+f.Tag.Get("json"))
		}
		seen = seen || f.Name == "Checks"
	}
	if want := []string{"Changes changes,omitempty", "Interrupted interrupted,omitempty"}; !reflect.DeepEqual(after, want) {
		t.Errorf("Report's JSON fields after Checks are %q, renderJSON writes %q", after, want)
	}
}

// The json format is written as it is rendered: a report that cannot be
// rendered (a NaN in its evidence) leaves the old file whole and no
// temporary file, and says it was the rendering that failed.
func TestJSONStreamedRenderFailureKeepsTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := fixtureReport()
	r.Checks = append([]report.Check(nil), r.Checks...)
	r.Checks[len(r.Checks)-1].Evidence = map[string]any{"x": math.NaN()}
	err := WriteAll([]Spec{{Format: "json", File: path}}, r, &bytes.Buffer{}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "render json: ") {
		t.Fatalf("error %v, want the rendering's", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Errorf("the old report became %q", b)
	}
	assertOnlyFiles(t, dir, "r.json")
}

type failWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > 1000 {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

// A standard output that fails mid-report is a write error, said once.
func TestJSONStreamedWriteFailure(t *testing.T) {
	err := WriteAll([]Spec{{Format: "json"}}, bigReport(), &failWriter{}, Options{})
	if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "write json to standard output: ") {
		t.Errorf("error %v", err)
	}
}
