package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

// verdictReports are the four ways a run can end: ready, degraded by a
// warning, degraded by an optional failure, blocked.
func verdictReports() map[string]*report.Report {
	mk := func(checks ...report.Check) *report.Report {
		r := fixtureReport()
		r.Checks = checks
		r.Summary = report.Summarize(checks)
		r.Summary.Headline = ""
		return r
	}
	pass := report.Check{ID: "dns.gateway", Title: "t", Category: "DNS", Required: true, Kind: "dns", Status: probes.Pass, Reason: probes.ReasonOK}
	skip := report.Check{ID: "outbound.sql", Title: "t", Category: "Azure SQL", Required: true, Kind: "tcp", Status: probes.Skip, Reason: probes.ReasonNoData}
	warn := report.Check{ID: "route.egress-ip", Title: "t", Category: "Routing", Kind: "http", Status: probes.Warn, Reason: probes.ReasonForcedTunnel, FailedPhase: probes.PhaseAnalysis, Hint: "h"}
	optFail := report.Check{ID: "outbound.monitor.metrics", Title: "t", Category: "Azure Monitor", Kind: "tls", Status: probes.Fail, Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseConnect, Hint: "h"}
	reqFail := report.Check{ID: "outbound.storage.blob", Title: "t", Category: "Azure Storage", Required: true, Kind: "tls", Status: probes.Fail, Reason: probes.ReasonReset, FailedPhase: probes.PhaseTLS, Hint: "h"}
	bug := report.Check{ID: "outbound.keyvault", Title: "t", Category: "Azure Key Vault", Required: true, Kind: "tls", Status: probes.Fail, Reason: probes.ReasonError, FailedPhase: probes.PhaseTLS, Hint: "h"}
	return map[string]*report.Report{
		"ready":               mk(pass, skip),
		"degraded-warning":    mk(pass, warn),
		"degraded-optional":   mk(pass, optFail),
		"blocked":             mk(pass, reqFail, warn),
		"blocked-by-a-bug":    mk(pass, bug),
		"fixture (all kinds)": fixtureReport(),
	}
}

// JUnit's red/green is the exit code's: a CI page must not be red for a run
// that exited 0, nor green for one that exited 1.
func TestJUnitRedExactlyWhenTheRunFails(t *testing.T) {
	for name, r := range verdictReports() {
		for _, strict := range []bool{false, true} {
			var doc junitDoc
			if err := xml.Unmarshal(render(t, "junit", r, Options{Strict: strict}), &doc); err != nil {
				t.Fatal(err)
			}
			s := doc.Suites[0]
			red := s.Failures+s.Errors > 0
			if want := r.ExitCode(strict) == 1; red != want {
				t.Errorf("%s strict=%v: JUnit red=%v (failures %d, errors %d) but exit code %d",
					name, strict, red, s.Failures, s.Errors, r.ExitCode(strict))
			}
			visible := 0
			for _, c := range s.Cases {
				if c.Failure != nil || c.Error != nil || c.Skipped != nil {
					visible++
				}
			}
			if want := len(r.Checks) - r.Summary.Pass; visible != want {
				t.Errorf("%s strict=%v: %d non-passing cases visible, want %d", name, strict, visible, want)
			}
		}
	}
}

// Every JUnit document validates against the junit-10 XSD that Jenkins'
// xUnit plugin ships (testdata/junit-10.xsd).
func TestJUnitValidatesAgainstJUnit10XSD(t *testing.T) {
	xmllint := testtool.Need(t, "xmllint", "libxml2-utils")
	dir := t.TempDir()
	reports := verdictReports()
	reports["hostile"] = hostileReport()
	reports["empty"] = &report.Report{}
	for name, r := range reports {
		for _, strict := range []bool{false, true} {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".xml")
			if err := os.WriteFile(file, render(t, "junit", r, Options{Strict: strict}), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit-10.xsd", file).CombinedOutput()
			if err != nil {
				t.Errorf("%s strict=%v: not valid junit-10: %v\n%s", name, strict, err, out)
			}
		}
	}
}

// The XSD check can fail: the old <testsuites skipped="…"> is refused.
func TestJUnitXSDRefusesSkippedOnTestsuites(t *testing.T) {
	xmllint := testtool.Need(t, "xmllint", "libxml2-utils")
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(`<?xml version="1.0"?><testsuites name="x" tests="0" failures="0" errors="0" skipped="0"></testsuites>`), 0o644)
	if err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit-10.xsd", bad).Run(); err == nil {
		t.Fatal("xmllint accepted a skipped attribute on <testsuites>: the XSD check proves nothing")
	}
}

// seriesOf lists the series (name and labels, without value) of a
// Prometheus text document.
func seriesOf(t *testing.T, text []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("not a sample: %q", line)
		}
		out = append(out, line[:i])
	}
	return out
}

func instance(service string, mode probes.Mode) *report.Report {
	r := fixtureReport()
	r.Context.Service, r.Context.Mode = service, mode
	return r
}

// Two instances' textfiles on one node_exporter: not one series in common,
// or node_exporter refuses the duplicates and drops one instance's verdict.
func TestPrometheusInstancesDoNotCollide(t *testing.T) {
	for _, pair := range [][2]*report.Report{
		{instance("contoso", probes.ModeInternal), instance("fabrikam", probes.ModeInternal)},
		{instance("contoso", probes.ModeInternal), instance("contoso", probes.ModeV2Integrated)},
	} {
		a := seriesOf(t, render(t, "prometheus", pair[0], Options{}))
		seen := map[string]bool{}
		for _, s := range a {
			if seen[s] {
				t.Fatalf("duplicate series within one file: %s", s)
			}
			seen[s] = true
		}
		for _, s := range seriesOf(t, render(t, "prometheus", pair[1], Options{})) {
			if seen[s] {
				t.Errorf("%s/%s and %s/%s both write %s", pair[0].Context.Service, pair[0].Context.Mode,
					pair[1].Context.Service, pair[1].Context.Mode, s)
			}
		}
	}
}

func TestPrometheusEverySeriesNamesItsInstance(t *testing.T) {
	for _, s := range seriesOf(t, render(t, "prometheus", fixtureReport(), Options{})) {
		if !strings.Contains(s, `service="contoso"`) || !strings.Contains(s, `mode="internal"`) {
			t.Errorf("series without the instance's labels: %s", s)
		}
		if strings.HasPrefix(s, "apimprobe_check_") && !strings.Contains(s, `id="`) {
			t.Errorf("a check's series without its id: %s", s)
		}
	}
}

func TestPrometheusLastChange(t *testing.T) {
	r := fixtureReport()
	since := time.Date(2026, 11, 21, 9, 15, 0, 0, time.UTC)
	for i := range r.Checks {
		r.Checks[i].Since = since
	}
	text := string(render(t, "prometheus", r, Options{}))
	want := `apimprobe_check_last_change_timestamp_seconds{service="contoso",mode="internal",id="outbound.sql"} 1795252500` + "\n"
	if !strings.Contains(text, want) {
		t.Fatalf("missing %q in\n%s", want, text)
	}
	if strings.Contains(string(render(t, "prometheus", fixtureReport(), Options{})), "last_change") {
		t.Fatal("a time of last change without --state")
	}
}

// mergeFamilies joins several exposition documents as node_exporter's
// textfile collector does: one HELP and TYPE per family, the samples of
// every file under it.
func mergeFamilies(docs ...[]byte) []byte {
	type fam struct {
		head    []string
		samples []string
	}
	var order []string
	fams := map[string]*fam{}
	for _, d := range docs {
		var cur *fam
		for _, line := range strings.Split(strings.TrimRight(string(d), "\n"), "\n") {
			if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
				name := strings.Fields(line)[2]
				f, ok := fams[name]
				if !ok {
					f = &fam{}
					fams[name] = f
					order = append(order, name)
				}
				if len(f.head) < 2 && !ok || len(f.head) == 1 {
					f.head = append(f.head, line)
				}
				cur = f
				continue
			}
			cur.samples = append(cur.samples, line)
		}
	}
	var b strings.Builder
	for _, name := range order {
		for _, l := range append(fams[name].head, fams[name].samples...) {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

// promtool, Prometheus' own linter, on one instance's file and on two
// instances' files together, joined family by family as the textfile
// collector joins them (a plain concatenation repeats HELP lines, which
// the text format forbids).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	a := render(t, "prometheus", instance("contoso", probes.ModeInternal), Options{})
	withSince := instance("fabrikam", probes.ModeExternal)
	for i := range withSince.Checks {
		withSince.Checks[i].Since = withSince.StartedAt
	}
	b := render(t, "prometheus", withSince, Options{})
	check := func(name string, doc []byte) {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(doc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on %s: %v\n%s", name, err, out)
		}
	}
	check("one instance", a)
	check("another instance, with --state", b)
	check("two instances together", mergeFamilies(a, b))

	// promtool 2.42 (Debian 12) does not look for duplicate series across
	// files; TestPrometheusInstancesDoNotCollide does, and the binary's
	// node_exporter test (cmd/apimprobe) serves two files for real.
}

// -o jsonl is the JSON report on one line; -o jsonl=FILE appends it.
func TestJSONLOneLinePerRunAppended(t *testing.T) {
	r := fixtureReport()
	line := render(t, "jsonl", r, Options{})
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("not one line: %q", line)
	}
	var fromJSONL, fromJSON any
	if err := json.Unmarshal(line, &fromJSONL); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(render(t, "json", r, Options{}), &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSONL)
	b, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, b) {
		t.Fatal("the jsonl line is not the json report")
	}

	file := filepath.Join(t.TempDir(), "apimprobe.jsonl")
	specs := []Spec{{Format: "jsonl", File: file}}
	for i := 0; i < 3; i++ {
		if err := WriteAll(specs, r, nil, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat(line, 3); !bytes.Equal(got, want) {
		t.Fatalf("three runs appended:\n%s", got)
	}
	schematest.ValidateLines(t, got)
}

// The reports the formats are rendered from keep the schema, in both JSON
// forms.
func TestRenderedReportsMatchTheSchema(t *testing.T) {
	for name, r := range verdictReports() {
		schematest.Validate(t, render(t, "json", r, Options{}))
		schematest.ValidateLines(t, render(t, "jsonl", r, Options{}))
		_ = name
	}
	golden, err := os.ReadFile("testdata/json.exit1.golden")
	if err != nil {
		t.Fatal(err)
	}
	schematest.Validate(t, golden)
}

func TestTableSaysWhatChanged(t *testing.T) {
	r := fixtureReport()
	prev := time.Date(2026, 11, 21, 9, 55, 0, 0, time.UTC)
	r.PreviousRun = prev
	if text := string(render(t, "table", r, Options{Width: 100})); !strings.Contains(text, "No change since the last run (2026-11-21 09:55 UTC).") {
		t.Fatalf("no 'no change' line:\n%s", text)
	}
	r.Changes = []report.Change{
		{ID: "outbound.sql", From: probes.Pass, To: probes.Fail, Since: r.StartedAt},
		{ID: "route.egress-ip", From: probes.Pass, To: probes.Warn, Since: r.StartedAt},
	}
	text := string(render(t, "table", r, Options{Width: 100}))
	want := "Changed since the last run (2026-11-21 09:55 UTC): outbound.sql pass → fail, route.egress-ip pass →\nwarn."
	if !strings.Contains(text, want) {
		t.Fatalf("want %q in\n%s", want, text)
	}
	if text := string(render(t, "table", fixtureReport(), Options{})); strings.Contains(text, "since the last run") {
		t.Fatal("a change line without --state")
	}
	r.Interrupted = true
	if text := string(render(t, "table", r, Options{})); !strings.Contains(text, "INTERRUPTED") {
		t.Fatal("an interrupted run's table does not say so")
	}
}
