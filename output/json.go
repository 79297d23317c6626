package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/apimprobe/apimprobe/internal/report"
)

func init() {
	register("json", FormatFunc(renderJSON))
	streamed["json"] = true
}

// renderJSON writes exactly the report struct (SPEC's schema_version 1),
// indented two spaces, with a trailing newline: the bytes json.MarshalIndent
// gives. HTML escaping is off: the report is read by people and jq, never
// embedded in a page, and "<" in a message should read as "<".
//
// It writes as it goes, one check at a time, so that the whole report
// (300 KB and more, at the end of a run when the heap is at its fullest)
// is never held in memory, compact or indented: encoding/json compacts a
// whole value, then indents it into a second buffer, before it writes a
// byte. The head (everything before the checks) and each check are
// encoded and indented on their own, with the indentation they have in
// the whole document, in buffers reused from one to the next.
func renderJSON(w io.Writer, r *report.Report, _ Options) error {
	// plain has Report's fields and none of its methods: its MarshalJSON
	// would compact the whole report into a buffer first.
	type plain report.Report
	head := plain(*r)
	if head.Findings == nil {
		// SPEC has the key in every report, as [] when empty.
		head.Findings = []report.Finding{}
	}
	head.Checks, head.Changes, head.Interrupted = nil, nil, false

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(head); err != nil {
		return err
	}
	// The head ends with the checks, null since they were taken out; they
	// follow, then the fields after them.
	const nullChecks = ",\n  \"checks\": null\n}\n"
	if !bytes.HasSuffix(buf.Bytes(), []byte(nullChecks)) {
		return errors.New("json: the report's checks are not where renderJSON expects them")
	}
	buf.Truncate(buf.Len() - len(nullChecks))
	buf.WriteString(",\n  \"checks\": [")
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}

	enc.SetIndent("    ", "  ")
	for i := range r.Checks {
		buf.Reset()
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := enc.Encode(r.Checks[i]); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}

	buf.Reset()
	if len(r.Checks) > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteByte(']')
	// The fields after the checks, with their tags (a test holds these to
	// Report's).
	tail := struct {
		Changes     []report.Change `json:"changes,omitempty"`
		Interrupted bool            `json:"interrupted,omitempty"`
	}{r.Changes, r.Interrupted}
	enc.SetIndent("", "  ")
	mark := buf.Len()
	if err := enc.Encode(tail); err != nil {
		return err
	}
	// "{}\n" when both are left out, else "{\n  …\n}\n": its fields go
	// after the checks' comma.
	if t := buf.Bytes()[mark:]; string(t) == "{}\n" {
		buf.Truncate(mark)
		buf.WriteString("\n}\n")
	} else {
		rest := append([]byte(nil), t[1:]...) // "\n  …\n}\n"
		buf.Truncate(mark)
		buf.WriteByte(',')
		buf.Write(rest)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
