package output

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func renderString(t testing.TB, format string, r *report.Report, o Options) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, format, r, o); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The budgets, on the lab's real reports.
func TestTableBudgets(t *testing.T) {
	labs := labScenarios(t)
	healthy := renderString(t, "table", labs["healthy"], Options{Width: 80})
	if n := strings.Count(healthy, "\n"); n > 25 {
		t.Errorf("healthy run: %d lines at 80 columns, budget 25:\n%s", n, healthy)
	}
	// Every run: the verdict within the first 6 lines; a healthy run (no
	// failure, no finding) within 25 lines; a run with findings shows them on its first
	// screen (24 lines), the first one beginning within the first 10.
	for name, r := range labs {
		lines := strings.Split(renderString(t, "table", r, Options{Width: 80}), "\n")
		verdict := strings.ToUpper(r.Summary.Verdict)
		at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, verdict) })
		if at < 0 || at >= 6 {
			t.Errorf("%s: the verdict is on line %d, want within the first 6:\n%s", name, at+1, strings.Join(lines, "\n"))
		}
		if r.Summary.Fail+r.Summary.Warn == 0 && len(r.Findings) == 0 && len(lines)-1 > 25 {
			t.Errorf("%s: %d lines at 80 columns without a failure, budget 25", name, len(lines)-1)
		}
		if len(r.Findings) > 0 {
			f := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Findings") })
			if f < 0 || f >= 10 || !strings.Contains(strings.Join(lines[:min(24, len(lines))], "\n"), r.Findings[0].Title[:min(30, len(r.Findings[0].Title))]) {
				t.Errorf("%s: the findings do not open the first screen (header on line %d):\n%s", name, f+1, strings.Join(lines[:min(24, len(lines))], "\n"))
			}
		}
	}
	silent := strings.Split(renderString(t, "table", labs["dns-resolver-silent"], Options{Width: 80}), "\n")
	first := strings.Join(silent[:min(20, len(silent))], "\n")
	if !strings.Contains(first, "DNS server 198.18.2.53 does not answer") {
		t.Errorf("the first 20 lines do not name the resolver as the cause:\n%s", first)
	}
}

// Nothing is cut in the middle, nothing passes the width (but a single
// word longer than the line), the last line names the verdict, and every
// failure is either under a finding or listed with its hint.
func TestTableFitsAndNeverCutsNames(t *testing.T) {
	for name, r := range labScenarios(t) {
		for _, width := range []int{80, 120} {
			for _, verbose := range []bool{false, true} {
				out := renderString(t, "table", r, Options{Width: width, Verbose: verbose})
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				for _, l := range lines {
					// A command's continuation (" \\") does not make a word two.
					word := strings.TrimSuffix(strings.TrimSpace(l), " \\")
					if runeLen(l) > width && strings.Contains(word, " ") {
						t.Errorf("%s/%d: line of %d columns: %q", name, width, runeLen(l), l)
					}
				}
				if strings.Contains(out, "…") && !verbose {
					t.Errorf("%s/%d: something was cut with an ellipsis:\n%s", name, width, out)
				}
				for _, c := range r.Checks {
					if (verbose || c.Status == probes.Fail || c.Status == probes.Warn) && !verbose && !explainedBy(r, c.ID) &&
						!regexp.MustCompile(`(^|\s)`+regexp.QuoteMeta(c.ID)+`(\s|$)`).MatchString(out) {
						t.Errorf("%s/%d: unexplained %s %s is not listed whole", name, width, c.Status, c.ID)
					}
					if verbose && !strings.Contains(out, " "+c.ID) {
						t.Errorf("%s/%d -v: %s missing", name, width, c.ID)
					}
				}
				last := lines[len(lines)-1]
				if !strings.Contains(out, "\n"+strings.ToUpper(r.Summary.Verdict)+"  ") || last == "" {
					t.Errorf("%s/%d: no closing verdict line: %q", name, width, last)
				}
			}
		}
	}
}

func explainedBy(r *report.Report, id string) bool {
	for _, f := range r.Findings {
		for _, c := range f.Checks {
			if c == id {
				return true
			}
		}
	}
	return false
}

// report200 is a run of 200 checks with findings, most failing.
func report200() *report.Report {
	r := fixtureReport()
	base := r.Checks
	for i := 0; len(r.Checks) < 200; i++ {
		c := base[i%len(base)]
		c.ID = fmt.Sprintf("%s.%03d", c.ID, i)
		r.Checks = append(r.Checks, c)
	}
	r.Summary = report.Summarize(r.Checks)
	for i := 0; i < 4; i++ {
		var ids []string
		for j := i; j < len(r.Checks); j += 5 {
			ids = append(ids, r.Checks[j].ID)
		}
		r.Findings = append(r.Findings, report.Finding{ID: fmt.Sprintf("x.rule-%d", i), Severity: report.SeverityBlocking,
			Title: "A cause that explains many checks at once", Cause: strings.Repeat("The cause in words. ", 6),
			Checks: ids, Fix: report.Fix{Summary: strings.Repeat("Change this. ", 8),
				Commands: []string{"az network nsg rule create --resource-group rg --nsg-name nsg --name Allow-Storage-443 --priority 299 --direction Outbound --access Allow --protocol Tcp --destination-port-ranges 443"}}})
	}
	return r
}

// BenchmarkRenderTable200 is the budget: rendering 200 checks with
// findings within 5 ms.
func BenchmarkRenderTable200(b *testing.B) {
	r := report200()
	for _, name := range []string{"table", "markdown"} {
		for _, verbose := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/verbose=%v", name, verbose), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := Render(io.Discard, name, r, Options{Width: 80, Color: true, Verbose: verbose}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
