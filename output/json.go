package output

import (
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
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&out)
}
