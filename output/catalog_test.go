package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// TestRealPlan renders the real catalogue's plan, so a catalogue entry whose
// text breaks the plan layout (a very long target, a multi-line why) shows
// up here rather than in front of a firewall team.
func TestRealPlan(t *testing.T) {
	for _, mode := range probes.Modes() {
		checks, err := catalog.Plan(catalog.Options{Cloud: "public", Mode: mode, Phase: "post",
			Inputs: catalog.Inputs{Service: "contoso", Region: "westeurope"}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := RenderPlan(&buf, checks, "table", Options{Width: 100}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, line := range strings.Split(out, "\n") {
			if n := runeLen(line); n > 100 {
				t.Errorf("%s: plan line of %d columns: %q", mode, n, line)
			}
		}
		for _, c := range checks {
			if !strings.Contains(out, c.ID) {
				t.Errorf("%s: %s missing from the plan table", mode, c.ID)
			}
		}
		buf.Reset()
		if err := RenderPlan(&buf, checks, "json", Options{}); err != nil {
			t.Fatal(err)
		}
		var entries []PlanEntry
		if err := json.Unmarshal(buf.Bytes(), &entries); err != nil || len(entries) != len(checks) {
			t.Errorf("%s: plan json: %v, %d entries for %d checks", mode, err, len(entries), len(checks))
		}
		if testing.Verbose() && mode == "internal" {
			t.Logf("\n%s", out)
		}
	}
}

// TestRealReportTable renders a report over the real catalogue's ids and
// targets (outcomes made up, a mix of each status) and checks the table
// keeps to the width and never cuts an id, which --only and --skip take.
func TestRealReportTable(t *testing.T) {
	checks, err := catalog.Plan(catalog.Options{Cloud: "public", Mode: "internal", Phase: "post",
		Inputs: catalog.Inputs{Service: "contoso", Region: "westeurope"}})
	if err != nil {
		t.Fatal(err)
	}
	var outs []probes.Outcome
	for i, c := range checks {
		var res probes.Result
		switch {
		case c.Preset != nil:
			res = *c.Preset
		case i%7 == 0:
			res = probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer to TCP SYN within 5s")
			res.Hint = "Allow outbound TCP to the service tag in the NSG and the firewall."
		case i%11 == 0:
			res = probes.Warnf(probes.ReasonResolverDisagree, probes.PhaseResolve, "10.0.0.4 and 168.63.129.16 disagree")
			res.Hint = "Make the custom DNS server forward to 168.63.129.16."
		default:
			res = probes.Passf("TLS 1.3, certificate valid for the name")
		}
		res.Duration = time.Duration(i*137) * time.Millisecond
		outs = append(outs, probes.Outcome{Check: c, Result: res})
	}
	r := &report.Report{SchemaVersion: 1, StartedAt: time.Unix(0, 0), DurationMS: 5000,
		Context: report.Context{Cloud: "public", Mode: "internal", Phase: "post", Service: "contoso"}}
	r.FromOutcomes(outs)
	for _, width := range []int{100, 120} {
		var buf bytes.Buffer
		if err := Render(&buf, "table", r, Options{Width: width, Verbose: true}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, line := range strings.Split(out, "\n") {
			if n := runeLen(line); n > width {
				t.Errorf("width %d: line of %d columns: %q", width, n, line)
			}
		}
		for _, c := range r.Checks {
			if !strings.Contains(out, "  "+c.ID+"  ") && !strings.Contains(out, "  "+c.ID+"\n") {
				t.Errorf("width %d: id %s is not whole in the table", width, c.ID)
			}
		}
	}
}
