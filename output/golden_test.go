package output

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
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

func TestGoldenReports(t *testing.T) {
	cases := []struct {
		file, format string
		o            Options
	}{
		{"table.golden", "table", Options{Width: 100}},
		{"table_color.golden", "table", Options{Width: 100, Color: true}},
		{"table_80.golden", "table", Options{Width: 80}},
		{"json.golden", "json", Options{}},
		{"markdown.golden", "markdown", Options{}},
		{"junit.golden", "junit", Options{}},
		{"prometheus.golden", "prometheus", Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.format, fixtureReport(), tc.o); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, buf.Bytes())
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
// with this binary: the table at 80 and 120 columns and the Markdown of each
// are golden files.
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
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = &r
	}
	return out
}

func TestGoldenLabScenarios(t *testing.T) {
	for name, r := range labScenarios(t) {
		for _, tc := range []struct {
			suffix, format string
			o              Options
		}{
			{"table80.golden", "table", Options{Width: 80}},
			{"table120.golden", "table", Options{Width: 120}},
			{"md.golden", "markdown", Options{}},
		} {
			t.Run(name+"."+tc.suffix, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, tc.format, r, tc.o); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("lab", name+"."+tc.suffix), buf.Bytes())
			})
		}
	}
}
