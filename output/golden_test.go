package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/goldentest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./output -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./output -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s",
			name, got, want)
	}
}

// reportGolden is the golden file of a report in one rendering: the exit
// code the report gives (without --strict) is in its name, so that a change
// of verdict shows in the file list.
func reportGolden(r *report.Report, rendering string) string {
	return fmt.Sprintf("%s.exit%d.golden", rendering, r.ExitCode(false))
}

func TestGoldenReports(t *testing.T) {
	cases := []struct {
		rendering, format string
		o                 Options
	}{
		{"table", "table", Options{Width: 100}},
		{"table_color", "table", Options{Width: 100, Color: true}},
		{"table_80", "table", Options{Width: 80}},
		{"json", "json", Options{}},
		{"markdown", "markdown", Options{}},
		{"junit", "junit", Options{}},
		{"prometheus", "prometheus", Options{}},
	}
	for _, tc := range cases {
		r := fixtureReport()
		file := reportGolden(r, tc.rendering)
		t.Run(file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.format, r, tc.o); err != nil {
				t.Fatal(err)
			}
			golden(t, file, buf.Bytes())
		})
	}
}

func TestGoldenPlan(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		width        int
	}{
		{"plan_table.golden", "table", 100},
		{"plan_table_60.golden", "table", 60},
		{"plan_markdown.golden", "markdown", 0},
		{"plan_json.golden", "json", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderPlan(&buf, fixturePlan(), tc.format, Options{Width: tc.width}); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
		})
	}
}

// labScenarios are real reports of the lab's scenarios (scripts/lab), run
// with this binary and saved normalised (goldentest.Normalize: durations,
// timestamps, fingerprints and races masked) as NAME.exitN.json, N the
// run's exit code: the table at 80 and 120 columns and the Markdown of each
// are golden files, rendered without root.
func labScenarios(t testing.TB) map[string]*report.Report {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "lab", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no lab reports in testdata/lab: %v", err)
	}
	out := map[string]*report.Report{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name, _, _ := strings.Cut(filepath.Base(p), ".exit")
		out[strings.TrimSuffix(name, ".json")] = &r
	}
	return out
}

func TestGoldenLabScenarios(t *testing.T) {
	made := map[string]bool{}
	scenarios := labScenarios(t)
	for name, r := range scenarios {
		for _, tc := range []struct {
			suffix, format string
			o              Options
		}{
			{"table80.golden", "table", Options{Width: 80}},
			{"table120.golden", "table", Options{Width: 120}},
			{"md.golden", "markdown", Options{}},
		} {
			file := fmt.Sprintf("%s.exit%d.%s", name, r.ExitCode(false), tc.suffix)
			t.Run(file, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, tc.format, r, tc.o); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("lab", file), buf.Bytes())
			})
			made[file] = true
		}
	}
	// A golden file of no report (a scenario renamed, or whose exit code
	// changed) goes: under -update it is removed, else it fails.
	stale, _ := filepath.Glob(filepath.Join("testdata", "lab", "*.golden"))
	for _, p := range stale {
		if made[filepath.Base(p)] {
			continue
		}
		if *update {
			if err := os.Remove(p); err != nil {
				t.Error(err)
			}
			continue
		}
		t.Errorf("%s is rendered from no report in testdata/lab (go test ./output -update removes it)", p)
	}
}

// The lab's reports are kept normalised, as scripts/lab/e2e saves them, and
// each one's name carries the exit code its verdict gives (the lab runs
// without --strict): a report edited or saved by hand fails here.
func TestLabReportsAreNormalised(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "lab", "*.json"))
	nameCode := regexp.MustCompile(`\.exit(\d+)\.json$`)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n, err := goldentest.Normalize(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !bytes.Equal(n, b) {
			t.Errorf("%s is not normalised (scripts/lab/e2e saves it so; goldentest.Normalize)", p)
		}
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		m := nameCode.FindStringSubmatch(p)
		if m == nil || m[1] != strconv.Itoa(r.ExitCode(false)) {
			t.Errorf("%s: its verdict %s gives exit %d, which its name does not say (NAME.exitN.json)", p, r.Summary.Verdict, r.ExitCode(false))
		}
	}
}
