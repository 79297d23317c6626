// Package health holds the files that run apimprobe as a health job — the
// systemd unit and timer, the cron line, the Prometheus alert rules, the
// Azure Monitor data collection rule and KQL query — and tests that each
// is valid for the tool that reads it and names only what apimprobe writes.
package health

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/output"
	"github.com/apimprobe/apimprobe/probes"
)

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "apimprobe")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/apimprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// systemd-analyze verify reads the units as systemd would; it exits 0 on
// unknown keys and bad values, so any line it prints is a failure too.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze := testtool.Need(t, "systemd-analyze", "systemd")
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, f := range []string{"apimprobe@.service", "apimprobe@.timer"} {
		text := strings.ReplaceAll(read(t, f), "/usr/local/bin/apimprobe", bin)
		inst := strings.Replace(f, "@.", "@contoso.", 1)
		for _, name := range []string{f, inst} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no",
		filepath.Join(dir, "apimprobe@contoso.service"), filepath.Join(dir, "apimprobe@contoso.timer"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The unit needs no root: what the issue asks of it, line by line.
func TestServiceIsHardened(t *testing.T) {
	unit := read(t, "apimprobe@.service")
	for _, want := range []string{
		"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n",
		"ReadWritePaths=/var/lib/prometheus/node-exporter\n", "PrivateDevices=yes", "ProtectHome=yes",
		"SuccessExitStatus=1\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	if n := strings.Count(unit, "ReadWritePaths="); n != 1 {
		t.Errorf("%d ReadWritePaths lines: write access is for the textfile directory only", n)
	}
}

var flagRE = regexp.MustCompile(`(?:^|\s)(--[a-z][a-z-]*|-o)\b`)

// The cron line and the unit's command line use flags the binary has, and
// write the textfile where Debian's node_exporter reads it.
func TestJobCommandLinesUseRealFlags(t *testing.T) {
	bin := buildBinary(t)
	help, err := exec.Command(bin, "run", "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	var cronLine string
	for _, l := range strings.Split(read(t, "apimprobe.cron"), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			if cronLine != "" {
				t.Fatal("more than one cron line")
			}
			cronLine = l
		}
	}
	fields := strings.Fields(cronLine)
	if len(fields) < 8 || fields[0] != "*/5" || fields[5] != "apimprobe" || fields[6] != "/usr/local/bin/apimprobe" || fields[7] != "run" {
		t.Fatalf("cron line is not 'schedule user /usr/local/bin/apimprobe run …': %q", cronLine)
	}
	unit := strings.ReplaceAll(read(t, "apimprobe@.service"), "\\\n", " ")
	var execStart string
	for _, l := range strings.Split(unit, "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			execStart = l
		}
	}
	for name, line := range map[string]string{"cron": cronLine, "unit": execStart} {
		if !strings.Contains(line, "prometheus=/var/lib/prometheus/node-exporter/apimprobe-") {
			t.Errorf("%s: the textfile is not in Debian's textfile directory: %s", name, line)
		}
		for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
			flag := m[1]
			if flag == "-o" {
				flag = "-o, --output"
			}
			if !strings.Contains(string(help), flag+" ") {
				t.Errorf("%s uses %s, which apimprobe run does not have", name, m[1])
			}
		}
	}
	// And the cron command as written is accepted (paths aside): its
	// arguments parse, and plan runs with them.
	args := fields[8:]
	var planArgs []string
	for i := 0; i < len(args); i++ {
		switch {
		case strings.HasPrefix(args[i], "2>>"):
		case args[i] == "-o" || args[i] == "--state":
			i++
		default:
			planArgs = append(planArgs, args[i])
		}
	}
	if out, err := exec.Command(bin, append([]string{"plan", "-o", "json"}, planArgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("plan %v: %v\n%s", planArgs, err, out)
	}
}

func TestAlertRules(t *testing.T) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every apimprobe metric and label the rules name is one the prometheus
// output writes.
func TestAlertRulesNameWhatApimprobeWrites(t *testing.T) {
	r := &report.Report{
		SchemaVersion: 1, Tool: report.Tool{Name: "apimprobe", Version: "1"}, StartedAt: time.Unix(1_800_000_000, 0),
		Context: report.Context{Service: "contoso", Mode: probes.ModeInternal, Phase: probes.DeployPost, Cloud: probes.CloudPublic},
		Checks: []report.Check{{ID: "outbound.sql", Title: "SQL", Category: "Azure SQL", Required: true, Kind: "tcp",
			Status: probes.Fail, Reason: probes.ReasonTimeout, Hint: "h", Since: time.Unix(1_800_000_000, 0)}},
	}
	r.Summary = report.Summarize(r.Checks)
	var b strings.Builder
	if err := output.Render(&b, "prometheus", r, output.Options{}); err != nil {
		t.Fatal(err)
	}
	metrics := b.String()
	rules := read(t, "alerts.yml")
	for _, m := range regexp.MustCompile(`apimprobe_[a-z_]+`).FindAllString(rules, -1) {
		if !strings.Contains(metrics, "\n"+m+"{") {
			t.Errorf("the rules use %s, which apimprobe does not write", m)
		}
	}
	for _, m := range regexp.MustCompile(`\$labels\.([a-z_]+)`).FindAllStringSubmatch(rules, -1) {
		if m[1] != "instance" && !strings.Contains(metrics, m[1]+`="`) {
			t.Errorf("the rules use label %s, which apimprobe does not write", m[1])
		}
	}
}

// schemaProps returns the properties of a schema object, following $ref.
func schemaProps(t *testing.T, root map[string]any, node map[string]any) map[string]any {
	t.Helper()
	if ref, ok := node["$ref"].(string); ok {
		node = root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	p, _ := node["properties"].(map[string]any)
	return p
}

// The data collection rule's input columns are the report's top-level
// fields with matching types; every field its transformation and the KQL
// query read exists in the report's schema; the transformation's output is
// the table's columns.
func TestAzureMonitorExampleNamesReportFields(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(report.Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	top := schemaProps(t, schema, schema)

	var tmpl struct {
		Resources []struct {
			Type       string
			Properties json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(read(t, "azure-monitor/dcr.json")), &tmpl); err != nil {
		t.Fatalf("dcr.json does not parse: %v", err)
	}
	var dcr struct {
		StreamDeclarations map[string]struct{ Columns []struct{ Name, Type string } }
		DataSources        struct {
			LogFiles []struct {
				Streams []string
				Format  string
			}
		}
		DataFlows []struct {
			Streams      []string
			TransformKql string
			OutputStream string
		}
	}
	var table struct {
		Schema struct {
			Name    string
			Columns []struct{ Name, Type string }
		}
	}
	for _, r := range tmpl.Resources {
		switch r.Type {
		case "Microsoft.Insights/dataCollectionRules":
			json.Unmarshal(r.Properties, &dcr)
		case "Microsoft.OperationalInsights/workspaces/tables":
			json.Unmarshal(r.Properties, &table)
		}
	}
	if len(dcr.DataSources.LogFiles) != 1 || dcr.DataSources.LogFiles[0].Format != "json" || len(dcr.DataFlows) != 1 {
		t.Fatalf("not one JSON log file source and one flow: %+v", dcr)
	}
	stream := dcr.DataSources.LogFiles[0].Streams[0]
	decl, ok := dcr.StreamDeclarations[stream]
	if !ok || !slices.Equal(dcr.DataFlows[0].Streams, []string{stream}) {
		t.Fatalf("stream %s is not declared or not the flow's", stream)
	}
	kinds := map[string][]string{ // Log Analytics type -> JSON Schema types it holds
		"dynamic": {"object", "array"}, "datetime": {"string"}, "int": {"integer"}, "long": {"integer"},
		"string": {"string"}, "boolean": {"boolean"},
	}
	for _, c := range decl.Columns {
		if c.Name == "TimeGenerated" {
			continue
		}
		p, ok := top[c.Name].(map[string]any)
		if !ok {
			t.Errorf("the DCR declares %s, which the report does not have", c.Name)
			continue
		}
		typ, _ := p["type"].(string)
		if typ == "" {
			if _, isRef := p["$ref"]; isRef {
				typ = "object"
			} else if _, isConst := p["const"]; isConst && c.Name == "schema_version" {
				typ = "integer"
			}
		}
		if !slices.Contains(kinds[c.Type], typ) {
			t.Errorf("the DCR declares %s as %s; the report has %s", c.Name, c.Type, typ)
		}
	}

	// Fields the transformation reads: context.x, summary.x, tool.x.
	kql := dcr.DataFlows[0].TransformKql
	for _, m := range regexp.MustCompile(`\b(context|summary|tool)\.([a-z_]+)`).FindAllStringSubmatch(kql, -1) {
		if _, ok := schemaProps(t, schema, top[m[1]].(map[string]any))[m[2]]; !ok {
			t.Errorf("the transformation reads %s.%s, which the report does not have", m[1], m[2])
		}
	}
	// Its output is the table.
	var out []string
	for _, m := range regexp.MustCompile(`(?:project |, )([A-Z][A-Za-z]+)`).FindAllStringSubmatch(kql, -1) {
		out = append(out, m[1])
	}
	var cols []string
	for _, c := range table.Schema.Columns {
		cols = append(cols, c.Name)
	}
	if !slices.Equal(out, cols) || dcr.DataFlows[0].OutputStream != "Custom-"+table.Schema.Name {
		t.Errorf("the transformation projects %v into %s; the table %s has %v", out, dcr.DataFlows[0].OutputStream, table.Schema.Name, cols)
	}

	// The query reads table columns and check fields that exist.
	query := read(t, "azure-monitor/blocked-subnets.kql")
	checkProps := schemaProps(t, schema, schema["$defs"].(map[string]any)["check"].(map[string]any))
	for _, m := range regexp.MustCompile(`\bCheck\.([a-z_]+)`).FindAllStringSubmatch(query, -1) {
		if _, ok := checkProps[m[1]]; !ok {
			t.Errorf("the query reads Check.%s, which a report's check does not have", m[1])
		}
	}
	aliases := []string{table.Schema.Name, "Check", "LastRun", "FailingChecks", "FailingSince"}
	code := regexp.MustCompile(`//[^\n]*|"[^"]*"`).ReplaceAllString(query, "")
	for _, m := range regexp.MustCompile(`\b[A-Z][A-Za-z_]+\b`).FindAllString(code, -1) {
		if !slices.Contains(cols, m) && !slices.Contains(aliases, m) {
			t.Errorf("the query names %s, which is not a column of %s", m, table.Schema.Name)
		}
	}
	if !strings.Contains(query, `Verdict == "blocked"`) || !strings.Contains(query, "arg_max(TimeGenerated") {
		t.Error("the query does not pick each subnet's last verdict and keep the blocked ones")
	}
}
