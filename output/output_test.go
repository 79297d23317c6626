package output

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func TestRegistry(t *testing.T) {
	want := []string{"json", "jsonl", "junit", "markdown", "prometheus", "table"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		if _, ok := Lookup(n); !ok {
			t.Errorf("Lookup(%q) not found", n)
		}
	}
	if _, ok := Lookup("xml"); ok {
		t.Error("Lookup(xml) found a format")
	}
	if DefaultFormat(true) != "table" || DefaultFormat(false) != "json" {
		t.Error("DefaultFormat does not follow SPEC: table on a terminal, json otherwise")
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "table", want: Spec{Format: "table"}},
		{in: "json=report.json", want: Spec{Format: "json", File: "report.json"}},
		{in: "JSON=out/r.json", want: Spec{Format: "json", File: "out/r.json"}},
		{in: "prometheus=/var/lib/node_exporter/textfile/apimprobe.prom", want: Spec{Format: "prometheus", File: "/var/lib/node_exporter/textfile/apimprobe.prom"}},
		{in: "markdown=-", want: Spec{Format: "markdown"}},
		{in: "junit=a=b.xml", want: Spec{Format: "junit", File: "a=b.xml"}},
		{in: "xml", wantErr: `unknown output format "xml" (known: json, jsonl, junit, markdown, prometheus, table)`},
		{in: "yaml=out.yaml", wantErr: `unknown output format "yaml" (known: json, jsonl, junit, markdown, prometheus, table)`},
		{in: "", wantErr: "no format given"},
		{in: "=out.json", wantErr: "no format given"},
		{in: "json=", wantErr: "empty file name"},
	} {
		got, err := ParseSpec(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSpec(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseSpec(%q) error is not one line: %q", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	if err := Validate([]Spec{{Format: "table"}, {Format: "json", File: f("r.json")}, {Format: "prometheus", File: f("r.prom")}}); err != nil {
		t.Errorf("one to stdout and two files: %v", err)
	}
	if err := Validate(nil); err != nil {
		t.Errorf("no specs: %v", err)
	}
	for _, tc := range []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"two on stdout", []Spec{{Format: "table"}, {Format: "json"}}, "at most one format can go to standard output, got table, json"},
		{"same file twice", []Spec{{Format: "json", File: f("r")}, {Format: "markdown", File: filepath.Join(dir, ".", "r")}}, "write the same file"},
		{"missing directory", []Spec{{Format: "json", File: f("nope/r.json")}}, "no such file or directory"},
		{"file is a directory", []Spec{{Format: "json", File: dir}}, "is a directory"},
		{"parent is a file", []Spec{{Format: "json", File: filepath.Join(writeTemp(t, dir, "plain"), "r.json")}}, "is not a directory"},
		{"unknown format", []Spec{{Format: "xml"}}, "unknown output format"},
	} {
		err := Validate(tc.specs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate error = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tc.name, err)
		}
	}
}

func writeTemp(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func render(t *testing.T, format string, r *report.Report, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, format, r, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	r := fixtureReport()
	jsonPath := filepath.Join(dir, "r.json")
	promPath := filepath.Join(dir, "apimprobe.prom")
	// An existing file is replaced whole, not appended to or left partly.
	if err := os.WriteFile(promPath, bytes.Repeat([]byte("old\n"), 10000), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	specs := []Spec{{Format: "table"}, {Format: "json", File: jsonPath}, {Format: "prometheus", File: promPath}}
	if err := WriteAll(specs, r, &stdout, Options{Width: 100, Color: true}); err != nil {
		t.Fatal(err)
	}
	if want := render(t, "table", r, Options{Width: 100, Color: true}); !bytes.Equal(stdout.Bytes(), want) {
		t.Error("standard output is not the table")
	}
	for path, format := range map[string]string{jsonPath: "json", promPath: "prometheus"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := render(t, format, r, Options{}); !bytes.Equal(got, want) {
			t.Errorf("%s: content is not the complete %s rendering", path, format)
		}
		// An existing report keeps its mode (a 0600 file is not widened);
		// a new one gets 0666 less the umask.
		want := os.FileMode(0o666) &^ currentUmask()
		if path == promPath {
			want = 0o600
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	assertOnlyFiles(t, dir, "apimprobe.prom", "r.json")
}

func TestWriteAllNoColorInFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.txt")
	if err := WriteAll([]Spec{{Format: "table", File: p}}, fixtureReport(), &bytes.Buffer{}, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if bytes.Contains(b, []byte("\x1b[")) {
		t.Error("a table written to a file has ANSI escape codes")
	}
}

func TestWriteAllMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir", "r.json")
	var stdout bytes.Buffer
	err := WriteAll([]Spec{{Format: "json", File: missing}, {Format: "table"}}, fixtureReport(), &stdout, Options{})
	if err == nil {
		t.Fatal("no error writing into a directory that does not exist")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error = %q; want one line naming %s and wrapping ErrNotExist", err, missing)
	}
	if stdout.Len() == 0 {
		t.Error("the table on standard output was lost because a file could not be written")
	}
	assertOnlyFiles(t, dir)
}

func TestWriteFileAtomicCleansUpOnFailure(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails after the temp file
	// was written: the temp file must not be left behind.
	target := filepath.Join(dir, "busy")
	if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("data")); err == nil {
		t.Fatal("no error renaming over a directory")
	}
	assertOnlyFiles(t, dir, "busy")
}

func TestWriteFileAtomicRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFileAtomic("r.md", []byte("# x\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("r.md"); string(b) != "# x\n" {
		t.Errorf("content %q", b)
	}
	assertOnlyFiles(t, dir, "r.md")
}

func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("files in %s = %v, want %v (temporary file left behind?)", dir, got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := fixtureReport()
	b := render(t, "json", r, Options{})
	if !bytes.HasSuffix(b, []byte("}\n")) || bytes.HasSuffix(b, []byte("\n\n")) {
		t.Error("JSON does not end with exactly one newline")
	}
	if !bytes.HasPrefix(b, []byte("{\n  \"schema_version\": 1,\n  \"tool\": {\n    \"name\"")) {
		t.Errorf("JSON is not indented two spaces:\n%.80s", b)
	}
	var back report.Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !back.StartedAt.Equal(r.StartedAt) {
		t.Errorf("started_at %v, want %v", back.StartedAt, r.StartedAt)
	}
	back.StartedAt = r.StartedAt
	// Evidence comes back as JSON values; the fixture's maps hold only JSON
	// types, except an empty map which omitempty drops.
	for i := range r.Checks {
		if len(r.Checks[i].Evidence) == 0 {
			r.Checks[i].Evidence = nil
		}
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", back, *r)
	}
	if !strings.Contains(string(b), `"started_at": "2026-11-21T10:00:00Z"`) {
		t.Error("started_at is not RFC 3339 UTC")
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// TestJSONKeys pins the key names to SPEC's example of schema_version 1.
func TestJSONKeys(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(render(t, "json", fixtureReport(), Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(doc), sorted("schema_version", "tool", "started_at", "duration_ms", "context", "summary", "findings", "checks"); !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	if got, want := keysOf(doc["tool"].(map[string]any)), sorted("name", "version", "commit"); !slices.Equal(got, want) {
		t.Errorf("tool keys %v, want %v", got, want)
	}
	if got, want := keysOf(doc["context"].(map[string]any)), sorted("hostname", "vm_private_ip", "vm_public_ip", "subnet",
		"region", "subscription_id", "resource_group", "cloud", "service", "mode", "phase", "instance_private_ip",
		"instance_public_ip", "resolvers", "credential", "sources"); !slices.Equal(got, want) {
		t.Errorf("context keys %v, want %v", got, want)
	}
	if got, want := keysOf(doc["summary"].(map[string]any)), sorted("verdict", "pass", "warn", "fail", "skip", "headline"); !slices.Equal(got, want) {
		t.Errorf("summary keys %v, want %v", got, want)
	}
	checks := doc["checks"].([]any)
	var kv map[string]any
	for _, c := range checks {
		if m := c.(map[string]any); m["id"] == "outbound.keyvault" {
			kv = m
		}
	}
	if got, want := keysOf(kv), sorted("id", "title", "category", "required", "kind", "target", "resource_type", "status",
		"reason", "failed_phase", "message", "hint", "duration_ms", "phases", "addresses", "evidence"); !slices.Equal(got, want) {
		t.Errorf("check keys %v, want %v", got, want)
	}
	if kv["status"] != "fail" || kv["reason"] != "tls-intercepted" || kv["failed_phase"] != "tls" || kv["required"] != true {
		t.Errorf("check values: %v", kv)
	}
}

func TestJSONEmptyChecksIsArray(t *testing.T) {
	b := render(t, "json", &report.Report{SchemaVersion: 1, Summary: report.Summary{Verdict: report.Ready}}, Options{})
	if !bytes.Contains(b, []byte(`"checks": []`)) {
		t.Errorf("no checks is not []:\n%s", b)
	}
}

func TestJSONNoHTMLEscaping(t *testing.T) {
	r := fixtureReport()
	r.Checks[0].Message = "got <html> & more"
	if b := render(t, "json", r, Options{}); !bytes.Contains(b, []byte(`"got <html> & more"`)) {
		t.Error("JSON escapes < > & as \\u003c…: hard to read for no reason")
	}
}

// hostile is a check whose every text field tries to break a format.
func hostileReport() *report.Report {
	r := fixtureReport()
	r.Checks = append(r.Checks, report.Check{
		ID: `evil.id|x"y`, Title: "Title with | pipe", Category: "Cat \"quoted\" \\ back",
		Required: true, Kind: "tls", Target: "host|name:443",
		Status: probes.Fail, Reason: probes.ReasonHTTPBody, FailedPhase: probes.PhaseHTTP,
		Message:    "body said \"a|b\" \\ then\nnew line <script>alert(1)</script> *bold* `code` \x00\x07\x1b[31mred",
		Hint:       "Fix the | pipe \"now\" \\ please.\nSecond line.",
		DurationMS: 7,
	})
	sort.Slice(r.Checks, func(i, j int) bool { return r.Checks[i].ID < r.Checks[j].ID })
	headline := r.Summary.Headline
	r.Summary = report.Summarize(r.Checks)
	r.Summary.Headline = headline
	return r
}

// cells splits a GFM table row into cells; a pipe preceded by an odd number
// of backslashes is escaped and stays inside its cell.
func cells(row string) []string {
	var out []string
	var cur strings.Builder
	bs := 0
	for _, r := range row {
		if r == '|' && bs%2 == 0 {
			out = append(out, cur.String())
			cur.Reset()
			bs = 0
			continue
		}
		if r == '\\' {
			bs++
		} else {
			bs = 0
		}
		cur.WriteRune(r)
	}
	out = append(out, cur.String())
	return out[1 : len(out)-1] // the row starts and ends with a pipe
}

func TestMarkdownEscaping(t *testing.T) {
	md := string(render(t, "markdown", hostileReport(), Options{}))
	if strings.ContainsAny(md, "\x00\x07\x1b") {
		t.Error("control characters reached the Markdown")
	}
	for _, bad := range []string{"<script>", "*bold*", "`code` "} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown carries %q unescaped", bad)
		}
	}
	var allRow, failRow []string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || !strings.Contains(line, "evil.id") {
			continue
		}
		if c := cells(line); len(c) == 9 {
			allRow = c
		} else if len(c) == 8 {
			failRow = c
		} else {
			t.Errorf("row has %d cells, a pipe escaped its cell: %s", len(c), line)
		}
	}
	if allRow == nil || failRow == nil {
		t.Fatalf("hostile check missing from a table:\n%s", md)
	}
	msg := allRow[8]
	if !strings.Contains(msg, `body said "a\|b" \\ then<br>new line \<script\>`) {
		t.Errorf("message cell = %q", msg)
	}
	if id := allRow[1]; id != " `evil.id\\|x\"y` " {
		t.Errorf("id cell = %q", id)
	}
	if hint := failRow[7]; hint != ` Fix the \| pipe "now" \\ please.<br>Second line. ` {
		t.Errorf("hint cell = %q", hint)
	}
}

func TestMarkdownFenceOutlastsBackticks(t *testing.T) {
	r := fixtureReport()
	for i := range r.Checks {
		if r.Checks[i].ID == "outbound.sql" {
			r.Checks[i].Evidence = map[string]any{"body": "```\n# not a heading"}
		}
	}
	md := string(render(t, "markdown", r, Options{}))
	if !strings.Contains(md, "````json\n") {
		t.Errorf("evidence with ``` is not fenced with a longer fence:\n%s", md)
	}
}

func TestPrometheusLabelEscaping(t *testing.T) {
	if got, want := promLabelValue("a\\b\"c\nd"), `a\\b\"c\nd`; got != want {
		t.Errorf("promLabelValue = %s, want %s", got, want)
	}
	if got := promLabelValue("bad\xffutf8"); got != "bad\uFFFDutf8" {
		t.Errorf("invalid UTF-8 not replaced: %q", got)
	}
	r := hostileReport()
	text := string(render(t, "prometheus", r, Options{}))
	// Every sample line parses, and its labels unescape to the originals.
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if value == "" {
			t.Errorf("line %q has no value", line)
		}
		if name == "apimprobe_check_status" {
			seen[labels["id"]] = true
			if labels["id"] == `evil.id|x"y` && labels["category"] != "Cat \"quoted\" \\ back" {
				t.Errorf("category label unescaped to %q", labels["category"])
			}
		}
	}
	if !seen[`evil.id|x"y`] || len(seen) != len(r.Checks) {
		t.Errorf("check_status ids seen: %v", seen)
	}
}

// parseSample is a strict reader of one exposition-format sample line:
// name{label="value",...} value.
func parseSample(line string) (name string, labels map[string]string, value string, err error) {
	labels = map[string]string{}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, "", errors.New("no metric name")
	}
	name, rest := line[:i], line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", nil, "", errors.New("label without =\"")
			}
			lname := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			for {
				if rest == "" {
					return "", nil, "", errors.New("unterminated label value")
				}
				c := rest[0]
				rest = rest[1:]
				if c == '"' {
					break
				}
				if c == '\n' {
					return "", nil, "", errors.New("raw newline in label value")
				}
				if c == '\\' {
					if rest == "" {
						return "", nil, "", errors.New("dangling backslash")
					}
					switch rest[0] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return "", nil, "", errors.New("bad escape \\" + string(rest[0]))
					}
					rest = rest[1:]
					continue
				}
				v.WriteByte(c)
			}
			labels[lname] = v.String()
			rest = strings.TrimPrefix(rest, ",")
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return "", nil, "", errors.New("no space before value")
	}
	return name, labels, rest[1:], nil
}

func TestPrometheusVerdictStateSet(t *testing.T) {
	text := string(render(t, "prometheus", fixtureReport(), Options{}))
	for _, want := range []string{
		`apimprobe_verdict{service="contoso",mode="internal",verdict="blocked"} 1`,
		`apimprobe_verdict{service="contoso",mode="internal",verdict="ready"} 0`,
		`apimprobe_verdict{service="contoso",mode="internal",verdict="degraded"} 0`,
		`apimprobe_check_status{service="contoso",mode="internal",id="outbound.sql",category="Azure SQL",required="true",status="fail",reason="timeout"} 1`,
		`apimprobe_check_duration_seconds{service="contoso",mode="internal",id="outbound.sql"} 5.001`,
		`apimprobe_run_duration_seconds{service="contoso",mode="internal"} 5.012` + "\n",
		`apimprobe_last_run_timestamp_seconds{service="contoso",mode="internal"} 1795255200` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	// One HELP and TYPE per family, each before its samples.
	if n := strings.Count(text, "# TYPE apimprobe_check_status gauge"); n != 1 {
		t.Errorf("TYPE for check_status appears %d times", n)
	}
}

type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Type string `xml:"type,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitParsesAndMaps(t *testing.T) {
	r := hostileReport()
	r.Checks = append(r.Checks, report.Check{ID: "zz.bug", Category: "Tool", Required: true, Status: probes.Fail, Reason: probes.ReasonError, Message: "panic in probe"})
	var doc junitDoc
	if err := xml.Unmarshal(render(t, "junit", r, Options{}), &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v", err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Tests != len(r.Checks) || s.Failures != 3 || s.Errors != 1 || s.Skipped != 4 {
		t.Errorf("counts tests=%d failures=%d errors=%d skipped=%d", s.Tests, s.Failures, s.Errors, s.Skipped)
	}
	byID := map[string]int{}
	for i, c := range s.Cases {
		byID[c.Name] = i
	}
	evil := s.Cases[byID[`evil.id|x"y`]]
	if evil.Classname != "Cat \"quoted\" \\ back" || evil.Failure == nil {
		t.Fatalf("hostile case: %+v", evil)
	}
	if want := "http-body (http): body said \"a|b\" \\ then\nnew line <script>alert(1)</script> *bold* `code` \uFFFD\uFFFD\uFFFD[31mred"; evil.Failure.Message != want {
		t.Errorf("failure message = %q\nwant %q", evil.Failure.Message, want)
	}
	if !strings.Contains(evil.Failure.Text, "hint: Fix the | pipe \"now\" \\ please.\nSecond line.") {
		t.Errorf("failure body lacks the hint: %q", evil.Failure.Text)
	}
	// Without --strict an optional failure and a warning do not fail the
	// run, so they are not red: visible as skipped, with their detail.
	if c := s.Cases[byID["outbound.monitor.metrics"]]; c.Failure != nil || c.Skipped == nil ||
		!strings.HasPrefix(c.Skipped.Message, "optional failure") || !strings.Contains(c.SystemOut, "hint:") {
		t.Errorf("optional failure: %+v", c)
	}
	if c := s.Cases[byID["route.egress-ip"]]; c.Failure != nil || c.Skipped == nil ||
		!strings.HasPrefix(c.Skipped.Message, "warn") || !strings.Contains(c.SystemOut, "forced-tunnel") {
		t.Errorf("warning: %+v", c)
	}
	if c := s.Cases[byID["subnet.nsg.inbound-3443"]]; c.Skipped == nil || !strings.HasPrefix(c.Skipped.Message, "not-observable") {
		t.Errorf("skip: %+v", c)
	}
	if c := s.Cases[byID["zz.bug"]]; c.Error == nil || c.Failure != nil {
		t.Errorf("reason error should be <error>: %+v", c)
	}
	if c := s.Cases[byID["dns.gateway"]]; c.Classname != "DNS" || c.Failure != nil || c.Skipped != nil {
		t.Errorf("pass: %+v", c)
	}

	// With --strict they fail the run, and are red.
	doc = junitDoc{}
	if err := xml.Unmarshal(render(t, "junit", r, Options{Strict: true}), &doc); err != nil {
		t.Fatal(err)
	}
	s = doc.Suites[0]
	for _, id := range []string{"outbound.monitor.metrics", "route.egress-ip"} {
		if c := s.Cases[byID[id]]; c.Failure == nil {
			t.Errorf("--strict: %s not a failure: %+v", id, c)
		}
	}
}

func TestTableLayout(t *testing.T) {
	r := hostileReport()
	for _, width := range []int{80, 100, 120} {
		out := string(render(t, "table", r, Options{Width: width}))
		if strings.ContainsAny(out, "\x00\x07\x1b") {
			t.Errorf("width %d: control characters from a message reached the terminal", width)
		}
		for _, line := range strings.Split(out, "\n") {
			if n := runeLen(line); n > width {
				t.Errorf("width %d: line of %d columns: %q", width, n, line)
			}
		}
		// Hints of what no finding explains are never truncated: every word
		// of every such hint is there.
		flat := strings.Join(strings.Fields(out), " ")
		ex := map[string]bool{}
		for _, f := range r.Findings {
			for _, id := range f.Checks {
				ex[id] = true
			}
		}
		for _, c := range r.Checks {
			if c.Hint != "" && (c.Status == probes.Fail || c.Status == probes.Warn) && !ex[c.ID] &&
				!strings.Contains(flat, "→ "+strings.Join(strings.Fields(oneLine(c.Hint)), " ")) {
				t.Errorf("width %d: hint of %s is not complete", width, c.ID)
			}
		}
		// The verdict first, then the findings, then what they leave, passes
		// and skips; the verdict again last.
		v, f, u, p, sk := strings.Index(out, "\nBLOCKED: "), strings.Index(out, "\nFindings"),
			strings.Index(out, "\nFailures and warnings no finding explains\n"), strings.Index(out, "\nPassed per category"), strings.Index(out, "\nSkipped")
		if !(v >= 0 && v < f && f < u && u < p && p < sk) {
			t.Errorf("width %d: sections out of order (%d %d %d %d %d):\n%s", width, v, f, u, p, sk, out)
		}
		if !strings.Contains(out, "\nBLOCKED  The appliance at 10.0.0.4 inspects TLS") {
			t.Errorf("width %d: the last line does not repeat the verdict and name the cause:\n%s", width, out)
		}
		// Verbose lists every check by id.
		vout := string(render(t, "table", r, Options{Width: width, Verbose: true}))
		for _, c := range r.Checks {
			if !strings.Contains(vout, "  "+oneLine(c.ID)) {
				t.Errorf("width %d -v: %s missing", width, c.ID)
			}
		}
	}
}

func TestTableColor(t *testing.T) {
	r := fixtureReport()
	plain := string(render(t, "table", r, Options{Verbose: true}))
	if strings.Contains(plain, "\x1b[") {
		t.Error("colour without Options.Color")
	}
	col := string(render(t, "table", r, Options{Color: true, Verbose: true}))
	for _, want := range []string{ansiRed + "FAIL" + ansiReset, ansiYellow + "WARN" + ansiReset, ansiGreen + "PASS" + ansiReset,
		ansiRed + "BLOCKED" + ansiReset, ansiRed + "BLOCKING" + ansiReset} {
		if !strings.Contains(col, want) {
			t.Errorf("coloured table lacks %q", want)
		}
	}
	// Colour changes nothing else.
	stripped := strings.NewReplacer(ansiRed, "", ansiYellow, "", ansiGreen, "", ansiDim, "", ansiBold, "", ansiReset, "").Replace(col)
	if stripped != plain {
		t.Errorf("coloured table differs from the plain one beyond escape codes:\n%s\n---\n%s", stripped, plain)
	}
}

func TestTableReady(t *testing.T) {
	r := &report.Report{
		SchemaVersion: 1, Tool: report.Tool{Name: "apimprobe", Version: "dev"},
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 80,
		Context: report.Context{Cloud: "public", Mode: "internal", Phase: "pre"},
		Checks: []report.Check{{ID: "outbound.sql", Category: "Azure SQL", Required: true, Kind: "tcp", Target: "s.database.windows.net:1433",
			Status: probes.Pass, Reason: probes.ReasonOK, DurationMS: 3}},
	}
	r.Summary = report.Summarize(r.Checks)
	out := string(render(t, "table", r, Options{}))
	if strings.Contains(out, "Findings") || strings.Contains(out, "Skipped") || strings.Contains(out, "→") {
		t.Errorf("empty sections or hints printed:\n%s", out)
	}
	if !strings.HasSuffix(out, "\nREADY  0 failed · 0 warnings · 1 passed · 0 skipped\n") || !strings.Contains(out, "\n  Azure SQL 1/1\n") {
		t.Errorf("verdict or pass summary:\n%s", out)
	}
	out = string(render(t, "table", r, Options{Verbose: true}))
	if !strings.Contains(out, "  PASS  outbound.sql  s.database.windows.net:1433  3ms  ok\n") {
		t.Errorf("pass row:\n%s", out)
	}
}

func TestTextHelpers(t *testing.T) {
	if got := truncMiddle("myserver.database.windows.net:1433", 20); got != "myserver.d…net:1433" && runeLen(got) != 20 {
		t.Errorf("truncMiddle = %q (%d)", got, runeLen(got))
	}
	if got := truncEnd("abcdef", 4); got != "abc…" {
		t.Errorf("truncEnd = %q", got)
	}
	if got := oneLine(" a\n\tb \x1b[31m c "); got != "a b [31m c" {
		t.Errorf("oneLine = %q", got)
	}
	if got := wrap("aaa bbb https://a-very-long-url.example/path ccc", 10); !slices.Equal(got, []string{"aaa bbb", "https://a-very-long-url.example/path", "ccc"}) {
		t.Errorf("wrap = %q", got)
	}
	for ms, want := range map[int64]string{0: "0ms", 999: "999ms", 1000: "1.00s", 5001: "5.00s", 12345: "12.3s", 123456: "2m3s"} {
		if got := fmtDuration(ms); got != want {
			t.Errorf("fmtDuration(%d) = %q, want %q", ms, got, want)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	var buf bytes.Buffer
	plan := fixturePlan()
	if err := RenderPlan(&buf, plan, "json", Options{}); err != nil {
		t.Fatal(err)
	}
	var entries []PlanEntry
	if err := json.Unmarshal(buf.Bytes(), &entries); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if !slices.IsSorted(ids) || len(ids) != 4 {
		t.Errorf("plan ids %v: want the 4 checks sorted by id", ids)
	}
	byID := map[string]PlanEntry{}
	for _, e := range entries {
		byID[e.ID] = e
	}
	if e := byID["outbound.storage.table"]; e.Preset == nil || e.Preset.Reason != probes.ReasonNoData || e.Preset.Hint == "" || e.Port != 443 {
		t.Errorf("preset entry: %+v", e)
	}
	if e := byID["outbound.sql"]; e.Preset != nil || e.Port != 1433 || e.ResourceType != "SQLDatabase" || e.Source == "" || !e.Required {
		t.Errorf("sql entry: %+v", e)
	}
	if e := byID["dns.gateway"]; e.Port != 0 {
		t.Errorf("a DNS name has no port: %+v", e)
	}
	// The caller's slice is left in its order (RenderPlan sorts a copy).
	if plan[0].ID != "outbound.sql" || plan[3].ID != "outbound.monitor.metrics" {
		t.Errorf("RenderPlan reordered the caller's checks: %s … %s", plan[0].ID, plan[3].ID)
	}
}

// TestPlanJSONRealCatalogue renders what `apimprobe plan -o json` prints for
// the real catalogue and holds it to README/SPEC: an array with one object
// per check, sorted by id, each saying what is contacted (kind, target,
// port), whether it is required, and why; checks that cannot run say so
// with the flag that would enable them. The caller's slice keeps its order.
func TestPlanJSONRealCatalogue(t *testing.T) {
	allowed := map[string]bool{"id": true, "title": true, "category": true, "resource_type": true, "required": true,
		"kind": true, "target": true, "port": true, "why": true, "source": true, "preset": true}
	for _, mode := range probes.Modes() {
		checks, err := catalog.Plan(catalog.Options{Cloud: "public", Mode: mode, Phase: "post",
			Inputs: catalog.Inputs{Service: "contoso", Region: "westeurope", SQLServer: "mysql"}})
		if err != nil {
			t.Fatal(err)
		}
		var before []string
		for _, c := range checks {
			before = append(before, c.ID)
		}
		if slices.IsSorted(before) {
			t.Fatalf("%s: the catalogue is already sorted by id, so this test cannot see whether the plan sorts", mode)
		}
		var buf bytes.Buffer
		if err := RenderPlan(&buf, checks, "json", Options{}); err != nil {
			t.Fatal(err)
		}
		var after []string
		for _, c := range checks {
			after = append(after, c.ID)
		}
		if !slices.Equal(before, after) {
			t.Errorf("%s: RenderPlan reordered the caller's checks", mode)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("[\n  {\n    \"id\": ")) || !bytes.HasSuffix(buf.Bytes(), []byte("]\n")) {
			t.Errorf("%s: not an indented JSON array of objects starting with id:\n%.60s", mode, buf.Bytes())
		}

		// The shape, read as plain JSON: every key known, the booleans and
		// numbers of the right type, required present even when false.
		var raw []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
			t.Fatalf("%s: plan json does not parse: %v", mode, err)
		}
		if len(raw) != len(checks) {
			t.Fatalf("%s: %d entries for %d checks", mode, len(raw), len(checks))
		}
		var ids []string
		for _, m := range raw {
			for k := range m {
				if !allowed[k] {
					t.Errorf("%s: unknown key %q in %v", mode, k, m)
				}
			}
			id, _ := m["id"].(string)
			ids = append(ids, id)
			if _, ok := m["required"].(bool); !ok {
				t.Errorf("%s %s: required is %T %v, want a JSON boolean always present", mode, id, m["required"], m["required"])
			}
			for _, k := range []string{"title", "category", "kind", "target", "why"} {
				if v, _ := m[k].(string); v == "" {
					t.Errorf("%s %s: %s missing or empty", mode, id, k)
				}
			}
			if p, ok := m["port"]; ok {
				if n, isNum := p.(float64); !isNum || n <= 0 || n > 65535 || n != float64(int(n)) {
					t.Errorf("%s %s: port %v", mode, id, p)
				}
			}
		}
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("%s: ids not sorted and unique: %v", mode, ids)
		}

		// The content: each entry is its check, field for field.
		var entries []PlanEntry
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&entries); err != nil {
			t.Fatal(err)
		}
		byID := map[string]PlanEntry{}
		for _, e := range entries {
			byID[e.ID] = e
		}
		for _, c := range checks {
			e, ok := byID[c.ID]
			if !ok {
				t.Errorf("%s: %s missing from the plan", mode, c.ID)
				continue
			}
			if e.Title != c.Title || e.Category != c.Category || e.ResourceType != c.ResourceType || e.Required != c.Required ||
				e.Kind != string(c.Kind) || e.Target != c.Target.String() || e.Why != c.Why || e.Source != c.Source {
				t.Errorf("%s %s: entry %+v does not say what the check is: %+v", mode, c.ID, e, c)
			}
			if (e.Preset == nil) != (c.Preset == nil) {
				t.Errorf("%s %s: preset %+v, check's %+v", mode, c.ID, e.Preset, c.Preset)
			} else if c.Preset != nil && (e.Preset.Status != c.Preset.Status || e.Preset.Reason != c.Preset.Reason ||
				e.Preset.Message != c.Preset.Message || e.Preset.Hint != c.Preset.Hint) {
				t.Errorf("%s %s: preset %+v, check's %+v", mode, c.ID, *e.Preset, *c.Preset)
			}
		}

		// What the firewall team reads, for entries whose values are known.
		sql := byID["outbound.sql"]
		blob := byID["outbound.storage.blob"]
		gwy := byID["inbound.gateway"]
		metrics := byID["outbound.monitor.metrics"]
		switch mode {
		case "internal", "external":
			if sql.Target != "mysql.database.windows.net:1433" || sql.Port != 1433 || !sql.Required || sql.Preset != nil || sql.Kind != "tcp" {
				t.Errorf("%s: sql entry %+v", mode, sql)
			}
			if metrics.Required || metrics.Port != 443 {
				t.Errorf("%s: optional metrics entry %+v", mode, metrics)
			}
		default:
			if sql.Required || sql.Preset == nil || sql.Preset.Status != probes.Skip || sql.Preset.Reason != probes.ReasonNotApplicable {
				t.Errorf("%s: SQL is no dependency in v2 modes, entry %+v", mode, sql)
			}
		}
		// Storage is required but for v2 outbound integration (azure-facts.md §11.5).
		if blob.Required != (mode != "v2-integrated") || blob.Preset == nil || blob.Preset.Reason != probes.ReasonNoData || !strings.Contains(blob.Preset.Hint, "--storage-account") || blob.Port != 443 {
			t.Errorf("%s: blob without --storage-account: %+v %+v", mode, blob, blob.Preset)
		}
		if gwy.Target != "https://contoso.azure-api.net/status-0123456789abcdef" || gwy.Port != 443 || gwy.Kind != "http" {
			t.Errorf("%s: gateway entry %+v", mode, gwy)
		}
	}
}

func TestTargetPort(t *testing.T) {
	for _, tc := range []struct {
		kind, target string
		want         int
	}{
		{"tcp", "s.database.windows.net:1433", 1433},
		{"tls", "[2001:db8::1]:443", 443},
		{"http", "https://a.example/x", 443},
		{"http", "http://crl.example/x.crl", 80},
		{"http", "https://a.example:8443/", 8443},
		{"dns", "contoso.azure-api.net", 0},
		{"tcp", "no-port", 0},
		{"tcp", "h:99999", 0},
		{"analysis", "ApiManagement -> VirtualNetwork:3443", 0},
	} {
		if got := targetPort(tc.kind, tc.target); got != tc.want {
			t.Errorf("targetPort(%s, %s) = %d, want %d", tc.kind, tc.target, got, tc.want)
		}
	}
}

func TestDestination(t *testing.T) {
	for _, tc := range []struct{ kind, target, want string }{
		{"http", "https://contoso.azure-api.net/status-0123456789abcdef", "contoso.azure-api.net:443"},
		{"http", "http://crl.microsoft.com/", "crl.microsoft.com:80"},
		{"http", "https://[2001:db8::1]:8443/x", "[2001:db8::1]:8443"},
		{"tcp", "s.database.windows.net:1433", "s.database.windows.net:1433"},
		{"dns", "contoso.azure-api.net", "contoso.azure-api.net"},
	} {
		if got := destination(tc.kind, tc.target); got != tc.want {
			t.Errorf("destination(%s) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

func TestPlanUnknownFormat(t *testing.T) {
	err := RenderPlan(&bytes.Buffer{}, fixturePlan(), "junit", Options{})
	if err == nil || !strings.Contains(err.Error(), "known: json, markdown, table") {
		t.Errorf("error = %v", err)
	}
}

func currentUmask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// A report file is written only over a regular file: never over a device,
// a link or a directory; and a directory that takes no new file is refused
// before anything is probed.
func TestReportTargetsMustBeRegularFiles(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	os.WriteFile(real, []byte("keep"), 0o600)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	// A pipe stands in for a device: a test must never risk /dev/null.
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{fifo, link, dir} {
		if err := Validate([]Spec{{Format: "json", File: target}}); err == nil {
			t.Errorf("Validate accepted %s", target)
		}
		if err := WriteFileAtomic(target, []byte("{}")); err == nil {
			t.Errorf("WriteFileAtomic wrote over %s", target)
		}
	}
	if b, _ := os.ReadFile(real); string(b) != "keep" {
		t.Errorf("the link's target was changed: %q", b)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v", err)
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if err := Validate([]Spec{{Format: "json", File: filepath.Join(ro, "r.json")}}); err == nil {
			t.Error("Validate accepted a directory that takes no new file")
		}
	}
	want := []string{"fifo.json", "link.json", "real.json"}
	if os.Geteuid() != 0 {
		want = append(want, "ro")
	}
	assertOnlyFiles(t, dir, want...)
}

// A Resource Manager name with bidirectional controls (Trojan Source: U+202E
// shows "deny-all" reversed) reaches no format as it came, typed evidence
// included, once the report is cleaned as every run cleans it.
func TestNoBidiControlsInAnyFormat(t *testing.T) {
	type nsgRule struct {
		Name   string   `json:"name"`
		Ranges []string `json:"ranges"`
	}
	bidi := []string{"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C"}
	hostile := "nsg-" + strings.Join(bidi, "x") + "lla-ynned"
	r := fixtureReport()
	r.Context.ResourceGroup = hostile
	r.Summary.Headline = hostile
	r.Checks[0].Message = hostile
	r.Checks[0].Evidence = map[string]any{"rule": nsgRule{Name: hostile, Ranges: []string{hostile}}, hostile: hostile}
	r.Findings = append(r.Findings, report.Finding{ID: "f", Severity: "blocking", Title: hostile, Cause: hostile,
		Evidence: map[string]any{"rule": nsgRule{Name: hostile}}, Fix: report.Fix{Summary: hostile, Commands: []string{hostile}}})
	r.Clean()
	for _, format := range Names() {
		out := string(render(t, format, r, Options{Verbose: true}))
		for _, c := range bidi {
			if strings.Contains(out, c) {
				t.Errorf("%s: %U reaches the output", format, []rune(c)[0])
			}
		}
	}
	if got := r.Checks[0].Evidence["rule"].(map[string]any)["name"]; !strings.HasSuffix(got.(string), "lla-ynned") {
		t.Errorf("cleaning took more than the controls: %q", got)
	}
}

// An interrupted run whose finished checks include a required failure is
// not judged: no format says blocked.
func TestInterruptedReportIsNotBlockedInAnyFormat(t *testing.T) {
	r := fixtureReport()
	if r.Summary.Verdict != report.Blocked {
		t.Fatalf("the fixture should be blocked before the signal, is %q", r.Summary.Verdict)
	}
	r.MarkInterrupted()
	for _, format := range Names() {
		out := string(render(t, format, r, Options{Verbose: true}))
		if strings.Contains(strings.ToLower(out), "verdict: blocked") || strings.Contains(out, "BLOCKED") ||
			strings.Contains(out, `"verdict":"blocked"`) || strings.Contains(out, `"verdict": "blocked"`) ||
			strings.Contains(out, `verdict="blocked"} 1`) || strings.Contains(out, `name="verdict" value="blocked"`) {
			t.Errorf("%s: an interrupted run is judged blocked:\n%s", format, out)
		}
		if !strings.Contains(strings.ToLower(out), "interrupted") {
			t.Errorf("%s: does not say the run was interrupted", format)
		}
	}
}

// A local stub resolver and the servers behind it are told apart in the
// human formats by their sources, and a missing upstream is said.
func TestResolverSourcesShown(t *testing.T) {
	rep := fixtureReport()
	rep.Context.Resolvers = []string{"127.0.0.53:53", "10.0.0.4:53"}
	rep.Context.ResolverSources = map[string]string{"127.0.0.53:53": "resolv.conf", "10.0.0.4:53": "systemd-resolved"}
	for f, want := range map[string]string{
		"table":    "resolvers 127.0.0.53:53 (resolv.conf) · 10.0.0.4:53 (systemd-resolved)",
		"markdown": "127.0.0.53:53 (resolv.conf), 10.0.0.4:53 (systemd-resolved)",
	} {
		if out := renderString(t, f, rep, Options{Width: 200}); !strings.Contains(out, want) {
			t.Errorf("%s does not name the resolvers' sources:\n%s", f, out)
		}
	}
	rep.Context.Resolvers, rep.Context.ResolverSources = []string{"127.0.0.53:53"}, nil
	rep.Context.ResolverNote = "the local stub resolver 127.0.0.53 forwards to servers apimprobe cannot find"
	if out := renderString(t, "table", rep, Options{Width: 200}); !strings.Contains(out, "cannot find") {
		t.Errorf("table does not say the upstreams are missing:\n%s", out)
	}
}
