package output

import (
	"bytes"
	"encoding/json"
	"errors"
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
// Monitor Agent, Fluent Bit, tail -f) sees whole lines, and fsyncs it. The
// line goes in whole or not at all: a write or fsync that fails part-way (a
// full disk, a file size limit) is truncated back to the size the file had,
// so the next run's line is not glued to half of this one.
func AppendFile(path string, data []byte) error {
	// O_CREAT only for a file that is not there: with it, Linux's
	// fs.protected_regular refuses to open another user's file in a sticky
	// directory even when it is writable (validateAppend opens it the same
	// way).
	flags := appendFlags
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		flags |= os.O_CREATE
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s: %w", path, errNotRegular)
	}
	f, err := os.OpenFile(path, os.O_RDWR|flags, 0o666)
	if errors.Is(err, os.ErrPermission) {
		// A file this run may append to but not read.
		f, err = os.OpenFile(path, os.O_WRONLY|flags, 0o666)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%s: not a regular file", path)
	}
	if err := appendWhole(f, data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return f.Close()
}

// appendFlags open a file for appending, never through a link; the access
// mode is added to them.
const appendFlags = os.O_APPEND | syscall.O_NOFOLLOW

// appendFile is what appendWhole needs of an *os.File; a test gives it one
// whose write fails part-way.
type appendFile interface {
	io.Writer
	io.ReaderAt
	Stat() (os.FileInfo, error)
	Truncate(size int64) error
	Sync() error
}

// appendWhole appends data to f, a file opened with O_APPEND, and fsyncs
// it; if either fails, f is truncated back to its size before, so that no
// part of data is left. A file that does not end with a newline (a line an
// older run or a crash left half written) gets one first, so this line
// stands on its own.
func appendWhole(f appendFile, data []byte) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
		}
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(size); terr != nil {
			return errors.Join(err, fmt.Errorf("truncating back to %d bytes: %w", size, terr))
		}
		f.Sync()
		return err
	}
	return nil
}
