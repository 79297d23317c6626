package output

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/apimprobe/apimprobe/internal/report"
)

func init() { register("json", FormatFunc(renderJSON)) }

// renderJSON writes exactly the report struct (SPEC's schema_version 1),
// indented two spaces, with a trailing newline. HTML escaping is off: the
// report is read by people and jq, never embedded in a page, and "<" in a
// message should read as "<".
func renderJSON(w io.Writer, r *report.Report, _ Options) error {
	out := *r
	if out.Checks == nil {
		// SPEC shows an array; a run with no checks is [] not null.
		out.Checks = []report.Check{}
	}
	// The report marshals itself compact; indenting that once into a
	// buffer of about the right size is what json.Encoder with SetIndent
	// does, without its copies: it compacted the marshaller's output
	// into a buffer of its own, then indented it into a third, each grown
	// by doubling (3 MB allocated for a 330 KB report, 1 MB now).
	//
	// The writer is a buffer when the report goes to standard output or a
	// file (writeEach renders into one): indenting straight into it, grown
	// once, spares a second copy of the indented report and the growth of
	// that buffer by doubling.
	raw, err := out.MarshalJSON()
	if err != nil {
		return err
	}
	buf, direct := w.(*bytes.Buffer)
	if !direct {
		buf = new(bytes.Buffer)
	}
	// json.Indent grows buf once by twice the compact length itself (a
	// Grow of our own before it made it grow twice).
	if err := json.Indent(buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	if direct {
		return nil
	}
	_, err = w.Write(buf.Bytes())
	return err
}
