package bounded

import (
	"strings"
	"testing"
)

func TestBoundedLine(t *testing.T) {
	long := strings.Repeat("é", 500)
	for in, want := range map[string]string{
		"first\nsecond":       "first",
		"  a\x1b[2Jb\x07c  ":  "a[2Jbc",
		"x\r\ny":              "x",
		long:                  strings.Repeat("é", MaxLine) + "…",
		"bad \xff utf8":       "bad  utf8",
		"error: <html><body>": "error: <html><body>",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}
