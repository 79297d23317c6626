// Package output renders apimprobe's report (package report) and plan in the
// formats an operator asks for with -o/--output: a table for the terminal,
// JSON for scripts and tickets, Markdown for tickets, JUnit for CI systems and
// Prometheus text for node_exporter's textfile collector. Formats register
// themselves by name (one file each), and WriteAll sends each to standard
// output or, atomically, to a file.
package output

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
)

// Options are the rendering choices the CLI makes. The table looks at colour
// and width (machine formats ignore them on purpose); JUnit at Strict.
type Options struct {
	// Color turns on ANSI colour for status words and the verdict. The CLI
	// decides it from terminal detection and NO_COLOR; files never get it.
	Color bool
	// Verbose lists every check in the table, not only what needs
	// attention (-v).
	Verbose bool
	// Width is the terminal width in columns; 0 means DefaultWidth, and
	// anything under 60 is treated as 60 (below that the table wraps
	// instead of keeping columns).
	Width int
	// Strict is --strict: warnings and optional failures fail the run, so
	// JUnit shows them red (its red/green follows the exit code).
	Strict bool
}

// DefaultWidth is the width used when the terminal's is unknown (a pipe,
// a file, a job's log): the screen the table is promised to fit.
const DefaultWidth = 80

func (o Options) width() int {
	if o.Width <= 0 {
		return DefaultWidth
	}
	// Below this the table cannot keep its columns; wrap instead of failing.
	if o.Width < 60 {
		return 60
	}
	return o.Width
}

// Format renders a report.
type Format interface {
	Render(w io.Writer, r *report.Report, o Options) error
}

// FormatFunc adapts a function to Format.
type FormatFunc func(w io.Writer, r *report.Report, o Options) error

func (f FormatFunc) Render(w io.Writer, r *report.Report, o Options) error { return f(w, r, o) }

// formats is filled by each format file's init, so adding a format touches
// nothing else.
var formats = map[string]Format{}

func register(name string, f Format) {
	if _, dup := formats[name]; dup {
		panic("output: format registered twice: " + name)
	}
	formats[name] = f
}

// Names lists the registered formats, sorted.
func Names() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup finds a format by name.
func Lookup(name string) (Format, bool) {
	f, ok := formats[name]
	return f, ok
}

// DefaultFormat is SPEC's default: the table on a terminal, JSON otherwise
// (a pipe or a file is read by a program).
func DefaultFormat(stdoutIsTerminal bool) string {
	if stdoutIsTerminal {
		return "table"
	}
	return "json"
}

// Render renders r in the named format.
func Render(w io.Writer, name string, r *report.Report, o Options) error {
	f, ok := Lookup(name)
	if !ok {
		return unknownFormat(name, Names())
	}
	return f.Render(w, r, o)
}

func unknownFormat(name string, known []string) error {
	return fmt.Errorf("unknown output format %q (known: %s)", name, strings.Join(known, ", "))
}
