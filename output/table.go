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

// The table is for the engineer at the terminal, and its first screen is
// the diagnosis: the verdict and what it rests on, then each finding with
// its fix, then the failures and warnings no finding explains. Passes
// collapse to one count per category and skips to one line per cause,
// unless Options.Verbose lists every check. The last line repeats the
// verdict and names what failed, where the eye lands when the command
// returns. The JSON keeps SPEC's id order and every detail.
//
// Nothing that names a thing is cut in the middle: ids, host names and
// commands wrap onto their own lines, and only a pass's message is
// shortened, from the end.

const (
	tableIndent    = 2
	tableStatusW   = 4
	tableSubIndent = tableIndent + tableStatusW + 2 // detail lines start under the id
)

func renderTable(w io.Writer, r *report.Report, o Options) error {
	bw := bufio.NewWriter(w)
	t := tableWriter{w: bw, width: o.width(), color: o.Color}
	t.header(r)

	explained := map[string]bool{}
	for _, f := range r.Findings {
		for _, id := range f.Checks {
			explained[id] = true
		}
	}
	t.verdict(r, explained)
	t.findings(r, explained)

	if o.Verbose {
		t.allChecks(r.Checks)
	} else {
		t.unexplained(r.Checks, explained)
		t.passed(r.Checks)
		t.skipped(r.Checks, explained)
	}
	if len(r.Checks) == 0 {
		t.blank()
		t.line("No checks were run.")
	}
	t.blank()
	for _, l := range changeLines(r, t.width) {
		t.line(l)
	}
	if r.Interrupted {
		t.para(0, "", fmt.Sprintf("INTERRUPTED: a signal stopped the run; the %d checks above had finished, "+
			"the others were not judged, and no report file was replaced.", len(r.Checks)))
	}
	t.lastLine(r)
	return bw.Flush()
}

type tableWriter struct {
	w      *bufio.Writer
	width  int
	color  bool
	blankd bool
}

func (t *tableWriter) line(s string) {
	t.w.WriteString(strings.TrimRight(s, " "))
	t.w.WriteByte('\n')
	t.blankd = false
}

func (t *tableWriter) blank() {
	if !t.blankd {
		t.w.WriteByte('\n')
		t.blankd = true
	}
}

// para writes s wrapped to the width, every line indented by indent and the
// first one led by lead (whose width the others are indented by). lead may
// carry colour; s is text from the report and is made one line.
func (t *tableWriter) para(indent int, lead, s string) {
	pad := strings.Repeat(" ", indent)
	lw := visibleLen(lead)
	cont := strings.Repeat(" ", lw)
	lines := wrap(s, t.width-indent-lw)
	if len(lines) == 0 {
		t.line(pad + lead)
		return
	}
	for i, l := range lines {
		if i == 0 {
			t.line(pad + lead + l)
		} else {
			t.line(pad + cont + l)
		}
	}
}

func (t *tableWriter) header(r *report.Report) {
	for _, l := range tableHeader(r, t.width) {
		t.line(l)
	}
}

// verdict is the first thing after the context: the verdict, what it
// rests on (the first finding that is not information, else the checks
// that failed), and the counts.
func (t *tableWriter) verdict(r *report.Report, explained map[string]bool) {
	t.blank()
	v := paint(t.color, verdictColor(r.Summary.Verdict), verdictWord(r))
	rests := restsOn(r)
	if rests == "" && r.Summary.Verdict == report.Ready {
		rests = "every dependency that was tested answers"
	}
	if rests == "" {
		t.line(v)
	} else {
		t.para(0, v+": ", rests)
	}
	t.para(tableIndent, "", countsLine(r))
}

// restsOn names what the verdict rests on: the first finding that is not
// information (and how many more), else the failing checks.
func restsOn(r *report.Report) string {
	for _, f := range r.Findings {
		if f.Severity != report.SeverityInfo {
			what := f.Title
			if n := countSevere(r.Findings) - 1; n > 0 {
				what += fmt.Sprintf(" (+%s)", plural(n, "more finding", "more findings"))
			}
			return what
		}
	}
	var bad []string
	for _, c := range r.Checks {
		if c.Status == probes.Fail && c.Required {
			bad = append(bad, c.ID+" ("+string(c.Reason)+")")
		}
	}
	for _, c := range r.Checks {
		if c.Status == probes.Warn || (c.Status == probes.Fail && !c.Required) {
			bad = append(bad, c.ID+" ("+string(c.Reason)+")")
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return listIDs(bad, 2) + " failed"
}

func explainedBad(r *report.Report, explained map[string]bool) int {
	n := 0
	for _, c := range r.Checks {
		if (c.Status == probes.Fail || c.Status == probes.Warn) && explained[c.ID] {
			n++
		}
	}
	return n
}

func verdictWord(r *report.Report) string {
	if r.Summary.Verdict == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(r.Summary.Verdict)
}

func countsLine(r *report.Report) string {
	s := r.Summary
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
	return strings.Join([]string{failed, plural(s.Warn, "warning", "warnings"),
		fmt.Sprintf("%d passed", s.Pass), fmt.Sprintf("%d skipped", s.Skip)}, " · ")
}

func severityColor(s string) string {
	switch s {
	case report.SeverityBlocking:
		return ansiRed
	case report.SeverityDegrading:
		return ansiYellow
	}
	return ansiDim
}

// findings: each with its cause, fix and commands. Info findings keep to
// their title and fix: their commands are in the Markdown and JSON.
// findings lists the diagnosis; its heading says how much of the run's
// failures and warnings it explains (on the counts line, that made the
// verdict two lines longer than a screen's first lines allow).
func (t *tableWriter) findings(r *report.Report, explained map[string]bool) {
	fs := r.Findings
	if len(fs) == 0 {
		return
	}
	t.blank()
	head := paint(t.color, ansiBold, "Findings")
	if n := explainedBad(r, explained); n > 0 {
		head += fmt.Sprintf(" (explaining %d of the %d failures and warnings)", n, r.Summary.Fail+r.Summary.Warn)
	}
	t.line(head)
	for i, f := range fs {
		lead := fmt.Sprintf("%d ", i+1)
		sev := strings.ToUpper(f.Severity)
		t.para(0, lead+paint(t.color, severityColor(f.Severity), sev)+"  ", f.Title)
		ind := runeLen(lead)
		if f.Severity == report.SeverityInfo {
			// Information: the title and the fix; its commands are in the
			// Markdown and the JSON.
			t.para(ind, "Fix: ", f.Fix.Summary)
			continue
		}
		t.para(ind, "", f.Cause)
		t.para(ind, "Fix: ", f.Fix.Summary)
		for _, c := range f.Fix.Commands {
			t.command(ind+2, c)
		}
		t.para(ind, "Explains ", explainsList(f.Checks))
	}
}

// command writes an az command to copy and paste: wrapped at spaces with a
// shell continuation, never cut.
func (t *tableWriter) command(indent int, cmd string) {
	pad := strings.Repeat(" ", indent)
	lines := wrap(cmd, t.width-indent-6) // "    " before, " \\" after
	for i, l := range lines {
		prefix := "$ "
		if i > 0 {
			prefix = "    "
		}
		if i < len(lines)-1 {
			l += " \\"
		}
		t.line(pad + prefix + l)
	}
}

// explainsList names the checks a finding explains by area when there are
// many ("outbound.* (33), dns.* (6)"), by id when few.
func explainsList(ids []string) string {
	if len(ids) <= 4 {
		return strings.Join(ids, ", ")
	}
	count := map[string]int{}
	var areas []string
	for _, id := range ids {
		a, _, _ := strings.Cut(id, ".")
		if count[a] == 0 {
			areas = append(areas, a)
		}
		count[a]++
	}
	parts := make([]string, len(areas))
	for i, a := range areas {
		parts[i] = fmt.Sprintf("%s.* (%d)", a, count[a])
	}
	return fmt.Sprintf("%d checks: %s", len(ids), strings.Join(parts, ", "))
}

// unexplained lists failures and warnings no finding explains, required
// first, then by status and id.
func (t *tableWriter) unexplained(checks []report.Check, explained map[string]bool) {
	bad := failing(checks, func(c report.Check) bool { return !explained[c.ID] })
	if len(bad) == 0 {
		return
	}
	t.blank()
	title := "Failures and warnings"
	if len(explained) > 0 {
		title += " no finding explains"
	}
	t.line(paint(t.color, ansiBold, title))
	for _, c := range bad {
		t.row(c)
	}
}

// row is one check: status, id, target and duration on the first line
// when they fit (the target moves to a line of its own when not), then
// reason and message, then the hint. A pass keeps to one line.
func (t *tableWriter) row(c report.Check) {
	status := paint(t.color, statusColor(c.Status), pad(strings.ToUpper(string(c.Status)), tableStatusW))
	lead := strings.Repeat(" ", tableIndent) + status + "  "
	plainLead := tableIndent + tableStatusW + 2
	target := tableTarget(c)
	dur := durationCell(c)
	sub := strings.Repeat(" ", tableSubIndent)

	fits := func(s string) bool { return plainLead+runeLen(s) <= t.width }
	join := func(parts ...string) string {
		var keep []string
		for _, p := range parts {
			if p != "" {
				keep = append(keep, p)
			}
		}
		return strings.Join(keep, "  ")
	}
	first := join(c.ID, target, dur)
	targetBelow := false
	if !fits(first) && target != "" {
		// The target gets a line of its own rather than being cut.
		first, targetBelow = join(c.ID, dur), true
	}
	inst := instanceCell(c)
	if c.Status == probes.Pass {
		msg := oneLine(c.Message)
		if msg == "" {
			msg = string(c.Reason)
		}
		if room := t.width - plainLead - runeLen(first) - 2; !targetBelow && room >= 10 {
			first += "  " + truncEnd(msg, room)
		}
		t.line(lead + first)
		if targetBelow {
			t.line(sub + target)
		}
		// A pass keeps to one line unless the instance disagrees.
		if inst != "" && instanceFails(c) {
			t.para(tableSubIndent, "instance: ", inst)
		}
		return
	}
	t.line(lead + first)
	if targetBelow {
		t.para(tableSubIndent, "", target)
	}
	detail := reasonCell(c)
	if m := oneLine(c.Message); m != "" {
		detail += ": " + m
	}
	t.para(tableSubIndent, "", detail)
	if inst != "" {
		t.para(tableSubIndent, "instance: ", inst)
	}
	if c.Hint != "" {
		t.para(tableSubIndent, "→ ", c.Hint)
	}
}

// instanceCell is the instance's own side of a check (its NetworkStatus),
// per location: "failure: Connection timed out (West Europe, updated
// 2026-11-21T09:55:00Z)"; "" when the instance reports nothing for it.
func instanceCell(c report.Check) string {
	var parts []string
	for _, s := range c.InstanceStatus() {
		w := s.Status
		if s.Error != "" {
			w += ": " + oneLine(s.Error)
		}
		where := s.Location
		if !s.LastUpdated.IsZero() {
			where += ", updated " + s.LastUpdated.UTC().Format("2006-01-02T15:04:05Z")
		}
		parts = append(parts, w+" ("+where+")")
	}
	if ip := c.InstanceProbe(); ip != nil {
		parts = append(parts, probeWords(ip))
	}
	return strings.Join(parts, "; ")
}

// probeWords is the instance's own probe (ConnectivityCheck) in words:
// "probe from westeurope: Disconnected, NetworkSecurityRule at Source
// 10.1.2.6 — this VM reaches it and the instance does not: …".
func probeWords(ip *probes.InstanceProbe) string {
	w := "probe from " + ip.Region + ": " + ip.Status
	if ip.Status == "" {
		w = "probe: no answer (" + oneLine(ip.Error) + ")"
	}
	for _, is := range ip.Issues() {
		w += ", " + is.Type
	}
	if ip.Agreement != probes.AgreeBothReach && ip.Meaning != "" {
		w += " — " + ip.Meaning
	}
	return w
}

// instanceFails: the instance reports a failure for the check's
// dependency, or its own probe could not reach it.
func instanceFails(c report.Check) bool {
	for _, s := range c.InstanceStatus() {
		if s.Status == "failure" {
			return true
		}
	}
	ip := c.InstanceProbe()
	return ip != nil && (ip.Agreement == probes.AgreeInstanceFails || ip.Agreement == probes.AgreeBothFail)
}

// passed is one count per category, in the order categories first appear.
func (t *tableWriter) passed(checks []report.Check) {
	type tally struct{ pass, run int }
	by := map[string]*tally{}
	var cats []string
	for _, c := range checks {
		if c.Status == probes.Skip {
			continue
		}
		cat := c.Category
		if cat == "" {
			cat = "Other"
		}
		if by[cat] == nil {
			by[cat] = &tally{}
			cats = append(cats, cat)
		}
		by[cat].run++
		if c.Status == probes.Pass {
			by[cat].pass++
		}
	}
	if len(cats) == 0 {
		return
	}
	sort.Strings(cats)
	items := make([]string, len(cats))
	for i, cat := range cats {
		items[i] = fmt.Sprintf("%s %d/%d", cat, by[cat].pass, by[cat].run)
	}
	t.blank()
	t.line(paint(t.color, ansiBold, "Passed") + " per category (-v lists every check)")
	for _, l := range joinWrapped(items, t.width-tableIndent) {
		t.line(strings.Repeat(" ", tableIndent) + l)
	}
}

// skipped summarises skips once per cause (reason and hint); those a
// finding explains are counted there.
func (t *tableWriter) skipped(checks []report.Check, explained map[string]bool) {
	type cause struct {
		reason probes.Reason
		ids    []string
	}
	var causes []*cause
	idx := map[string]*cause{}
	inFindings, notApplicable := 0, 0
	for _, c := range checks {
		if c.Status != probes.Skip {
			continue
		}
		if explained[c.ID] {
			inFindings++
			continue
		}
		// Not applicable to this mode or phase: nothing to do about it,
		// so only counted (-v lists them).
		if c.Reason == probes.ReasonNotApplicable {
			notApplicable++
			continue
		}
		k := string(c.Reason)
		cs := idx[k]
		if cs == nil {
			cs = &cause{reason: c.Reason}
			idx[k] = cs
			causes = append(causes, cs)
		}
		cs.ids = append(cs.ids, c.ID)
	}
	if len(causes) == 0 && inFindings == 0 {
		return
	}
	t.blank()
	head := paint(t.color, ansiBold, "Skipped")
	var more []string
	if inFindings > 0 {
		more = append(more, fmt.Sprintf("%d more under the findings", inFindings))
	}
	if notApplicable > 0 {
		more = append(more, fmt.Sprintf("%d not applicable here", notApplicable))
	}
	if len(causes) > 0 {
		more = append(more, "-v for why")
	}
	if len(more) > 0 {
		head += " (" + strings.Join(more, "; ") + ")"
	}
	t.line(head)
	// One line a cause: the hints that say how to run them are one flag
	// away (-v), so that a healthy run fits a screen.
	for _, cs := range causes {
		what := cs.ids[0]
		if len(cs.ids) > 1 {
			what = fmt.Sprintf("%d checks (%s)", len(cs.ids), listIDs(cs.ids, 1))
		}
		t.para(tableIndent, paint(t.color, ansiDim, "SKIP")+"  ", fmt.Sprintf("%s: %s", cs.reason, what))
	}
}

func listIDs(ids []string, n int) string {
	if len(ids) > n {
		return strings.Join(ids[:n], ", ") + fmt.Sprintf(" and %d more", len(ids)-n)
	}
	return strings.Join(ids, ", ")
}

// allChecks is -v: every check, Required before Optional, what to act on
// first in each, then the skipped ones.
func (t *tableWriter) allChecks(checks []report.Check) {
	var required, optional, skipped []report.Check
	for _, c := range checks {
		switch {
		case c.Status == probes.Skip:
			skipped = append(skipped, c)
		case c.Required:
			required = append(required, c)
		default:
			optional = append(optional, c)
		}
	}
	for _, g := range []struct {
		title  string
		checks []report.Check
	}{{"Required", required}, {"Optional", optional}, {"Skipped", skipped}} {
		if len(g.checks) == 0 {
			continue
		}
		sortForHumans(g.checks)
		t.blank()
		t.line(fmt.Sprintf("%s (%d)", paint(t.color, ansiBold, g.title), len(g.checks)))
		for _, c := range g.checks {
			t.row(c)
		}
	}
}

// lastLine repeats the verdict and names what failed, where the eye lands
// when the command returns; it wraps rather than run past the width.
func (t *tableWriter) lastLine(r *report.Report) {
	v := paint(t.color, verdictColor(r.Summary.Verdict), verdictWord(r))
	s := r.Summary
	counts := fmt.Sprintf("%d failed, %d warned", s.Fail, s.Warn)
	if what := restsOn(r); what != "" {
		t.para(0, v+"  ", what+" · "+counts)
		return
	}
	t.para(0, v+"  ", countsLine(r))
}

// visibleLen is the width of s on a terminal: its runes without ANSI
// colour sequences.
func visibleLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			if r == 'm' {
				esc = false
			}
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

func countSevere(fs []report.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity != report.SeverityInfo {
			n++
		}
	}
	return n
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

func tableHeader(r *report.Report, width int) []string {
	tool := r.Tool.Name
	if tool == "" {
		tool = "apimprobe"
	}
	if r.Tool.Version != "" {
		tool += " " + r.Tool.Version
	}
	if r.Tool.Commit != "" {
		tool += " (" + shortCommit(r.Tool.Commit) + ")"
	}
	first := []string{tool}
	if !r.StartedAt.IsZero() {
		first = append(first, r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	first = append(first, "took "+fmtDuration(r.DurationMS))

	lines := joinWrapped(first, width)
	return append(lines, joinWrapped(append(contextPairs(r.Context), resolverItems(r.Context)...), width)...)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// contextPairs are the known context values as "key value", in the order an
// operator reads them: what instance, how deployed, where.
func contextPairs(c report.Context) []string {
	var out []string
	add := func(k, v string) {
		if v = oneLine(v); v != "" {
			out = append(out, strings.TrimSpace(k+" "+v))
		}
	}
	how := strings.Trim(string(c.Mode)+", "+string(c.Phase), ", ")
	if c.Service != "" {
		if how != "" {
			how = " (" + how + ")"
		}
		add("service", c.Service+how)
	} else {
		add("mode", how)
	}
	add("", c.Region)
	add("subnet", c.Subnet)
	add("vm", c.VMPrivateIP)
	add("instance", c.InstancePrivateIP)
	return out
}

// resolverItems are the resolvers, each an item of its own, so that a long
// list (a stub beside its upstreams and Azure DNS) wraps between them.
func resolverItems(c report.Context) []string {
	out := resolverList(c)
	if len(out) > 0 {
		out[0] = "resolvers " + out[0]
	}
	if note := oneLine(c.ResolverNote); note != "" {
		out = append(out, note)
	}
	return out
}

// resolverList names each resolver with where it came from, when the
// report says (a local stub and the servers behind it are told apart so).
func resolverList(c report.Context) []string {
	var out []string
	for _, r := range c.Resolvers {
		if src := c.ResolverSources[r]; src != "" {
			r += " (" + src + ")"
		}
		out = append(out, r)
	}
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

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
