package cli

import (
	"strconv"
	"strings"
	"unicode"
)

// ErrLine is err as the one line standard error gets: a control character
// that came in with the input (a file name holding a newline) is written
// as its escape (\n), not as itself.
func ErrLine(err error) string {
	msg := err.Error()
	if !strings.ContainsFunc(msg, unicode.IsControl) {
		return msg
	}
	var b strings.Builder
	for _, r := range msg {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
