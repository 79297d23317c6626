package output

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// Text helpers shared by the human formats (table, plan table, markdown).
// Widths count runes: good enough for the ASCII and occasional arrow or
// ellipsis these formats print.

// oneLine folds every run of whitespace (newlines from multi-line messages,
// tabs) into one space and drops control characters, so a message from the
// network can never break a table's layout or smuggle escape codes into a
// terminal.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), r == utf8.RuneError:
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// truncEnd cuts s to n runes, marking the cut with an ellipsis.
func truncEnd(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:max(n, 0)])
	}
	return string([]rune(s)[:n-1]) + "…"
}

// truncMiddle cuts s to n runes in the middle: for host names and URLs both
// ends matter (the account name at the start, the port at the end).
func truncMiddle(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	if n <= 1 {
		return truncEnd(s, n)
	}
	rs := []rune(s)
	head := n / 2
	tail := n - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	if d := n - runeLen(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// wrap breaks s into lines of at most width runes at spaces. A word longer
// than width (a URL) gets a line of its own rather than being cut: hints are
// never truncated.
func wrap(s string, width int) []string {
	words := strings.Fields(oneLine(s))
	if len(words) == 0 {
		return nil
	}
	if width < 10 {
		width = 10
	}
	var lines []string
	cur := words[0]
	for _, w := range words[1:] {
		if runeLen(cur)+1+runeLen(w) > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur += " " + w
	}
	return append(lines, cur)
}

// fmtDuration is short and aligned: 12ms, 1.23s, 12.3s, 123s.
func fmtDuration(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%dms", ms)
	case ms < 10_000:
		return fmt.Sprintf("%.2fs", float64(ms)/1000)
	case ms < 100_000:
		return fmt.Sprintf("%.1fs", float64(ms)/1000)
	default:
		return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
	}
}

// severity orders statuses for the human formats: what to act on first.
// failing is the failures and warnings among checks that keep accepts (nil:
// all), required first (they decide the verdict), then failures before
// warnings, then by id.
func failing(checks []report.Check, keep func(report.Check) bool) []report.Check {
	var bad []report.Check
	for _, c := range checks {
		if (c.Status == probes.Fail || c.Status == probes.Warn) && (keep == nil || keep(c)) {
			bad = append(bad, c)
		}
	}
	sort.SliceStable(bad, func(i, j int) bool {
		if bad[i].Required != bad[j].Required {
			return bad[i].Required
		}
		if si, sj := severity(bad[i].Status), severity(bad[j].Status); si != sj {
			return si < sj
		}
		return bad[i].ID < bad[j].ID
	})
	return bad
}

func severity(s probes.Status) int {
	switch s {
	case probes.Fail:
		return 0
	case probes.Warn:
		return 1
	case probes.Pass:
		return 2
	case probes.Skip:
		return 3
	}
	return 4
}

// ANSI colours, used only when Options.Color.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

func paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return code + s + ansiReset
}

func statusColor(s probes.Status) string {
	switch s {
	case probes.Fail:
		return ansiRed
	case probes.Warn:
		return ansiYellow
	case probes.Pass:
		return ansiGreen
	}
	return ansiDim
}

func verdictColor(v string) string {
	switch v {
	case "blocked":
		return ansiRed
	case "degraded":
		return ansiYellow
	case "ready":
		return ansiGreen
	}
	return ansiBold
}

// phaseKeys orders a check's phase timings as they happen on the wire, then
// any others by name.
func phaseKeys(phases map[string]int64) []string {
	order := map[string]int{"resolve_ms": 1, "dns_ms": 2, "connect_ms": 3, "tls_ms": 4, "ttfb_ms": 5}
	keys := make([]string, 0, len(phases))
	for k := range phases {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, oj := order[keys[i]], order[keys[j]]
		if oi == 0 {
			oi = 100
		}
		if oj == 0 {
			oj = 100
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	return keys
}
