// Package bounded makes text from outside — the metadata service's and
// Resource Manager's bodies, codes and headers — fit a message: one line,
// no secrets, no control characters, a bounded length.
package bounded

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/probes"
)

// MaxLine bounds text from outside (error bodies, codes, headers) that
// reaches a message.
const MaxLine = 200

// Line makes untrusted text fit a message: its first line, without
// tokens (probes.ScrubSecrets), without control characters (a body may carry terminal escapes), at most MaxLine
// runes.
func Line(s string) string {
	s = strings.TrimSpace(probes.ScrubSecrets(s))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			continue
		}
		if n == MaxLine {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// RetryAfter turns a Retry-After value into words: "120 s" or the date.
func RetryAfter(v string) string {
	if n, err := strconv.Atoi(v); err == nil {
		return strconv.Itoa(n) + " s"
	}
	return v
}
