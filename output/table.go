package output

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func init() { register("table", FormatFunc(renderTable)) }

// The table is for the engineer at the terminal: context on top, then the
// checks that were run, Required before Optional, what to act on first in
// each (fail, warn, pass; then by id), then the skipped ones, which say what
// could not be tested and why, and a verdict line last, where the eye lands
// when the command returns. The JSON keeps SPEC's id order.

// A row is: status, id, target (host:port), duration, then "reason: message" in what is
// left of the width. At 100-120 columns there is no room for a message
// column beside full targets, so targets keep their room and a message that
// does not fit moves to a line of its own under the row (up to two lines),
// then the hint, never truncated. A pass keeps to one line: its message is
// cut to fit.
const (
	tableIndent    = 2
	tableGap       = 2
	tableStatusW   = 4
	tableIDMax     = 36 // ids are what --only and --skip take: cut them last
	tableIDMin     = 24
	tableTargetMax = 44
	tableTargetMin = 20
	tableTailMin   = 20 // or the longest reason, which is never cut
	tableMsgLines  = 2
)

type tableLayout struct {
	width, id, target, dur, tail int
}

// sub is where detail lines (message, hint) start: under the id.
const tableSubIndent = tableIndent + tableStatusW + tableGap

func layoutFor(checks []report.Check, width int) tableLayout {
	l := tableLayout{width: width}
	tailMin := tableTailMin
	for _, c := range checks {
		if c.Status != probes.Pass {
			tailMin = max(tailMin, runeLen(reasonCell(c)))
		}
		l.id = max(l.id, runeLen(c.ID))
		l.target = max(l.target, runeLen(tableTarget(c)))
		l.dur = max(l.dur, runeLen(durationCell(c)))
	}
	l.id = min(l.id, tableIDMax)
	l.target = min(l.target, tableTargetMax)
	fixed := func() int {
		return tableIndent + tableStatusW + tableGap + l.id + tableGap + l.target + tableGap + l.dur + tableGap
	}
	l.tail = width - fixed()
	// Narrow terminal: make room by cutting targets, then ids.
	if short := tailMin - l.tail; short > 0 {
		cut := min(short, max(l.target-tableTargetMin, 0))
		l.target -= cut
		short -= cut
		cut = min(short, max(l.id-tableIDMin, 0))
		l.id -= cut
		l.tail = width - fixed()
	}
	l.tail = max(l.tail, 10)
	return l
}

// tableTarget is host:port even for URL targets: what the operator opens
// in a firewall rule. The full URL stays in the JSON and Markdown.
func tableTarget(c report.Check) string { return oneLine(destination(c.Kind, c.Target)) }

func durationCell(c report.Check) string {
	if c.Status == probes.Skip {
		return ""
	}
	return fmtDuration(c.DurationMS)
}

// reasonCell is the reason, with the phase where it tells something the
// reason does not (a reset in tls is a name filter, in connect a port block).
func reasonCell(c report.Check) string {
	switch c.FailedPhase {
	case probes.PhaseResolve, probes.PhaseConnect, probes.PhaseTLS, probes.PhaseHTTP:
		return fmt.Sprintf("%s (%s)", c.Reason, c.FailedPhase)
	}
	return string(c.Reason)
}

func renderTable(w io.Writer, r *report.Report, o Options) error {
	bw := bufio.NewWriter(w)
	width := o.width()
	color := o.Color

	for _, line := range tableHeader(r, width) {
		fmt.Fprintln(bw, line)
	}

	var required, optional, skipped []report.Check
	for _, c := range r.Checks {
		switch {
		case c.Status == probes.Skip:
			skipped = append(skipped, c)
		case c.Required:
			required = append(required, c)
		default:
			optional = append(optional, c)
		}
	}
	l := layoutFor(r.Checks, width)
	groups := []struct {
		title  string
		checks []report.Check
	}{{"Required", required}, {"Optional", optional}, {"Skipped", skipped}}
	for _, g := range groups {
		if len(g.checks) == 0 {
			continue
		}
		sortForHumans(g.checks)
		fmt.Fprintf(bw, "\n%s (%d)\n", paint(color, ansiBold, g.title), len(g.checks))
		for _, c := range g.checks {
			writeTableRow(bw, c, l, color)
		}
	}
	if len(r.Checks) == 0 {
		fmt.Fprintln(bw, "\nNo checks were run.")
	}

	fmt.Fprintln(bw)
	for _, line := range changeLines(r, width) {
		fmt.Fprintln(bw, line)
	}
	if r.Interrupted {
		for _, line := range wrap(fmt.Sprintf("INTERRUPTED: a signal stopped the run; the %d checks above had finished, "+
			"the others were not judged, and no report file was replaced.", len(r.Checks)), width) {
			fmt.Fprintln(bw, paint(color, ansiBold, line))
		}
	}
	fmt.Fprintln(bw, verdictLine(r, color))
	for _, line := range wrap(r.Summary.Headline, width-tableIndent) {
		fmt.Fprintln(bw, strings.Repeat(" ", tableIndent)+line)
	}
	return bw.Flush()
}

// sortForHumans puts what to act on first, then keeps id order. It is given
// the group slices, which own their arrays, so r.Checks keeps SPEC's order.
func sortForHumans(cs []report.Check) {
	sort.SliceStable(cs, func(i, j int) bool {
		si, sj := severity(cs[i].Status), severity(cs[j].Status)
		if si != sj {
			return si < sj
		}
		return cs[i].ID < cs[j].ID
	})
}

func writeTableRow(w io.Writer, c report.Check, l tableLayout, color bool) {
	msg := oneLine(c.Message)
	var tail string
	var below []string
	if c.Status == probes.Pass {
		if msg == "" {
			msg = string(c.Reason)
		}
		tail = truncEnd(msg, l.tail)
	} else {
		tail = reasonCell(c)
		if msg != "" {
			if full := tail + ": " + msg; runeLen(full) <= l.tail {
				tail = full
			} else {
				below = wrap(msg, l.width-tableSubIndent)
				if len(below) > tableMsgLines {
					rest := strings.Join(below[tableMsgLines-1:], " ")
					below = append(below[:tableMsgLines-1], truncEnd(rest, l.width-tableSubIndent))
				}
			}
		}
		// The reason alone is never cut: on a narrow terminal the row runs
		// long rather than lose the one word that says what happened.
	}
	status := strings.ToUpper(string(c.Status))
	cells := []string{
		paint(color, statusColor(c.Status), pad(status, tableStatusW)),
		pad(truncMiddle(c.ID, l.id), l.id),
		pad(truncMiddle(tableTarget(c), l.target), l.target),
		padLeft(durationCell(c), l.dur),
		tail,
	}
	line := strings.Repeat(" ", tableIndent) + strings.Join(cells, strings.Repeat(" ", tableGap))
	fmt.Fprintln(w, strings.TrimRight(line, " "))

	indent := strings.Repeat(" ", tableSubIndent)
	for _, m := range below {
		fmt.Fprintln(w, indent+m)
	}
	// The hint is the reason the table exists: never truncated, wrapped under
	// the id column. Skips carry one too when there is something to check by
	// hand (not-observable) or a flag to pass (no-data).
	if c.Hint == "" || c.Status == probes.Pass {
		return
	}
	for i, h := range wrap(c.Hint, l.width-tableSubIndent-2) {
		lead := "→ "
		if i > 0 {
			lead = "  "
		}
		fmt.Fprintln(w, indent+lead+h)
	}
}

func tableHeader(r *report.Report, width int) []string {
	tool := r.Tool.Name
	if tool == "" {
		tool = "apimprobe"
	}
	if r.Tool.Version != "" {
		tool += " " + r.Tool.Version
	}
	if r.Tool.Commit != "" {
		tool += " (" + r.Tool.Commit + ")"
	}
	first := []string{tool}
	if !r.StartedAt.IsZero() {
		first = append(first, "started "+r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	first = append(first, "took "+fmtDuration(r.DurationMS))

	lines := joinWrapped(first, width)
	return append(lines, joinWrapped(contextPairs(r.Context), width)...)
}

// contextPairs are the known context values as "key value", in the order an
// operator reads them: what instance, how deployed, where.
func contextPairs(c report.Context) []string {
	var out []string
	add := func(k, v string) {
		if v = oneLine(v); v != "" {
			out = append(out, k+" "+v)
		}
	}
	add("service", c.Service)
	add("mode", string(c.Mode))
	add("phase", string(c.Phase))
	add("cloud", string(c.Cloud))
	add("region", c.Region)
	add("subnet", c.Subnet)
	add("vm", c.VMPrivateIP)
	add("instance", c.InstancePrivateIP)
	add("resolvers", strings.Join(c.Resolvers, ", "))
	return out
}

// joinWrapped joins items with " · ", starting a new line before an item
// that would pass width.
func joinWrapped(items []string, width int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case runeLen(cur)+3+runeLen(it) > width:
			lines = append(lines, cur)
			cur = it
		default:
			cur += " · " + it
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// changeLines say what changed since the previous run (--state): one line
// per change, or that nothing did. Without --state, or on its first run,
// there is nothing to say.
func changeLines(r *report.Report, width int) []string {
	when := ""
	if !r.PreviousRun.IsZero() {
		when = " (" + r.PreviousRun.UTC().Format("2006-01-02 15:04 UTC") + ")"
	}
	if len(r.Changes) == 0 {
		if r.PreviousRun.IsZero() {
			return nil
		}
		return []string{"No change since the last run" + when + "."}
	}
	parts := make([]string, 0, len(r.Changes))
	for _, c := range r.Changes {
		parts = append(parts, fmt.Sprintf("%s %s → %s", c.ID, c.From, c.To))
	}
	text := "Changed since the last run" + when + ": " + strings.Join(parts, ", ") + "."
	return wrap(text, width)
}

func verdictLine(r *report.Report, color bool) string {
	s := r.Summary
	verdict := s.Verdict
	if verdict == "" {
		verdict = "unknown"
	}
	reqFail := 0
	for _, c := range r.Checks {
		if c.Status == probes.Fail && c.Required {
			reqFail++
		}
	}
	failed := fmt.Sprintf("%d failed", s.Fail)
	if s.Fail > 0 {
		failed += fmt.Sprintf(" (%d required)", reqFail)
	}
	counts := []string{failed, plural(s.Warn, "warning", "warnings"),
		fmt.Sprintf("%d passed", s.Pass), fmt.Sprintf("%d skipped", s.Skip)}
	return paint(color, verdictColor(verdict), strings.ToUpper(verdict)) + "  " + strings.Join(counts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
