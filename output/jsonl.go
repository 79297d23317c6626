package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/apimprobe/apimprobe/internal/report"
)

func init() {
	register("jsonl", FormatFunc(renderJSONL))
	appendOnly["jsonl"] = true
}

// renderJSONL writes the report as one compact JSON line (JSON Lines): the
// same document as -o json, for log pipelines and the Azure Monitor Agent's
// custom JSON log collection, which read a file line by line. -o jsonl=FILE
// appends the line (AppendFile) instead of replacing the file.
func renderJSONL(w io.Writer, r *report.Report, _ Options) error {
	out := *r
	if out.Checks == nil {
		out.Checks = []report.Check{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil { // Encode ends the line with \n
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// appendOnly names the formats whose files grow by one record per run.
var appendOnly = map[string]bool{}

// AppendFile appends data to path in a single write(2) on a descriptor
// opened with O_APPEND, so that a reader tailing the file (the Azure
// Monitor Agent, Fluent Bit, tail -f) sees whole lines, and fsyncs it.
func AppendFile(path string, data []byte) error {
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", path, errNotRegular)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o666)
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%s: not a regular file", path)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return f.Close()
}
