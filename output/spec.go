package output

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
)

// Spec is one -o/--output value: a format and where it goes. File "" means
// standard output.
type Spec struct {
	Format string
	File   string
}

func (s Spec) String() string {
	if s.File == "" {
		return s.Format
	}
	return s.Format + "=" + s.File
}

// ParseSpec parses FORMAT or FORMAT=FILE. FILE "-" means standard output, as
// it does for most Unix tools. The format name is case-insensitive.
func ParseSpec(s string) (Spec, error) {
	name, file, hasFile := strings.Cut(s, "=")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return Spec{}, fmt.Errorf("--output %q: no format given (known: %s)", s, strings.Join(Names(), ", "))
	}
	if _, ok := Lookup(name); !ok {
		return Spec{}, fmt.Errorf("--output %q: %w", s, unknownFormat(name, Names()))
	}
	if hasFile && file == "" {
		return Spec{}, fmt.Errorf("--output %q: empty file name after '=' (use %s=FILE, or %s for standard output)", s, name, name)
	}
	if file == "-" {
		file = ""
	}
	return Spec{Format: name, File: file}, nil
}

// ParseSpecs parses the -o values of a run, all of them checked (Validate);
// none means the default format on standard output.
func ParseSpecs(raw []string, stdoutIsTerminal bool) ([]Spec, error) {
	if len(raw) == 0 {
		raw = []string{DefaultFormat(stdoutIsTerminal)}
	}
	specs := make([]Spec, 0, len(raw))
	for _, s := range raw {
		sp, err := ParseSpec(s)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %v", s, err)
		}
		specs = append(specs, sp)
	}
	return specs, Validate(specs)
}

// Validate checks a set of specs before anything is probed, so that a run is
// not wasted on output that cannot be written: at most one spec may go to
// standard output, no file may be named twice, and each file's directory
// must exist.
func Validate(specs []Spec) error {
	var stdout []string
	seen := map[string]string{}
	for _, s := range specs {
		if _, ok := Lookup(s.Format); !ok {
			return unknownFormat(s.Format, Names())
		}
		if s.File == "" {
			stdout = append(stdout, s.Format)
			continue
		}
		abs, err := filepath.Abs(s.File)
		if err != nil {
			return fmt.Errorf("--output %s: %w", s, err)
		}
		if prev, dup := seen[abs]; dup {
			return fmt.Errorf("--output %s and --output %s write the same file", prev, s)
		}
		seen[abs] = s.String()
		check := ValidateFile
		if appendOnly[s.Format] {
			check = validateAppend
		}
		if err := check("--output "+s.String(), abs); err != nil {
			return err
		}
	}
	if len(stdout) > 1 {
		return fmt.Errorf("--output: at most one format can go to standard output, got %s; send the others to files with FORMAT=FILE",
			strings.Join(stdout, ", "))
	}
	return nil
}

// ValidateFile checks, before anything is probed, that the run can replace
// path (a report, or the --state file): its directory exists and takes a
// new file, path is not a directory or a special file, and an existing file
// can be replaced keeping its owner (not in a sticky directory it is not
// this run's to replace, not another user's). flag names the file in the
// error ("--state /var/lib/x.json").
func ValidateFile(flag, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	dir := filepath.Dir(abs)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("%s: directory %s: %w", flag, dir, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("%s: %s is not a directory", flag, dir)
	}
	if err := writable(abs); err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	return nil
}

// validateAppend is ValidateFile for a file a line is appended to (-o
// jsonl=FILE): an existing file must open for appending as AppendFile
// opens it, and is never replaced; an absent one needs a directory that
// takes it.
func validateAppend(flag, path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ValidateFile(flag, path)
	case err != nil:
		return fmt.Errorf("%s: %w", flag, unwrapPath(err))
	case st.IsDir():
		return fmt.Errorf("%s: %s is a directory", flag, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s: %s %w", flag, path, errNotRegular)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|appendFlags, 0)
	if err != nil {
		return fmt.Errorf("%s: cannot append to %s: %w", flag, path, unwrapPath(err))
	}
	return f.Close()
}

// OnlyStdout keeps the specs that write to standard output: what an
// interrupted run still prints, since it replaces no file.
func OnlyStdout(specs []Spec) []Spec {
	var out []Spec
	for _, s := range specs {
		if s.File == "" {
			out = append(out, s)
		}
	}
	return out
}

// Files lists the files the specs write.
func Files(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		if s.File != "" {
			out = append(out, s.File)
		}
	}
	return out
}

// unwrapPath drops the *PathError wrapper whose path we already print.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// WriteAll renders r once per spec and writes each to stdout or, atomically,
// to its file (jsonl appends its line instead). Every spec is attempted even when one fails, so a full disk
// does not also cost the operator the terminal output; the errors are
// joined. Each format is rendered to memory first so that a rendering error
// never leaves half a document on standard output, but for those that
// cannot fail to render and are large (streamed: json), which are written
// as they are rendered.
func WriteAll(specs []Spec, r *report.Report, stdout io.Writer, o Options) error {
	return writeEach(specs, stdout, o, "report", func(w io.Writer, format string, o Options) error {
		return Render(w, format, r, o)
	})
}

// writeEach renders once per spec with render and writes the result to
// stdout or, atomically, to the spec's file; what says what was written.
func writeEach(specs []Spec, stdout io.Writer, o Options, what string, render func(io.Writer, string, Options) error) error {
	var errs []error
	for _, s := range specs {
		opt := o
		if s.File != "" {
			// Escape codes in a file are noise for whoever opens it later.
			opt.Color = false
		}
		if streamed[s.Format] && !appendOnly[s.Format] {
			if err := writeStreamed(s, stdout, what, func(w io.Writer) error { return render(w, s.Format, opt) }); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		var buf bytes.Buffer
		if err := render(&buf, s.Format, opt); err != nil {
			errs = append(errs, fmt.Errorf("render %s: %w", s.Format, err))
			continue
		}
		if s.File == "" {
			if _, err := stdout.Write(buf.Bytes()); err != nil {
				errs = append(errs, fmt.Errorf("write %s to standard output: %w", s.Format, err))
			}
			continue
		}
		write := WriteFileAtomic
		if appendOnly[s.Format] {
			write = AppendFile
		}
		if err := write(s.File, buf.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("write %s %s: %w", s.Format, what, err))
		}
	}
	return errors.Join(errs...)
}

// streamed names the formats rendered straight to their destination
// through a small buffer instead of whole into memory first: those whose
// rendering cannot fail but by failing to write (json: the report's
// values are plain JSON values already, see report.cleanEvidence), and
// whose output is large (the JSON report of a run is 300 KB and more,
// written at the end of the run, when the heap is at its fullest). A file
// is still replaced atomically: a failed rendering leaves the old one.
var streamed = map[string]bool{}

// writeStreamed renders s's format with render through a buffer to
// standard output or, atomically, to s's file; an error says whether the
// rendering or the writing failed.
func writeStreamed(s Spec, stdout io.Writer, what string, render func(io.Writer) error) error {
	var renderErr error
	fill := func(dst io.Writer) error {
		ew := &errWriter{w: dst}
		bw := bufio.NewWriterSize(ew, 32<<10)
		err := render(bw)
		if err == nil {
			err = bw.Flush()
		}
		if ew.err != nil {
			return ew.err
		}
		renderErr = err
		return err
	}
	if s.File == "" {
		err := fill(stdout)
		if renderErr != nil {
			return fmt.Errorf("render %s: %w", s.Format, renderErr)
		}
		if err != nil {
			return fmt.Errorf("write %s to standard output: %w", s.Format, err)
		}
		return nil
	}
	err := writeFileAtomic(s.File, fill)
	if renderErr != nil {
		return fmt.Errorf("render %s: %w", s.Format, renderErr)
	}
	if err != nil {
		return fmt.Errorf("write %s %s: %w", s.Format, what, err)
	}
	return nil
}

// errWriter keeps the first error of w's Write.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// WriteFileAtomic replaces path with data so that a reader (node_exporter's
// textfile collector, a ticket upload, a tail -f) sees the old file or the
// new one, never a partial one: a temporary file in the same directory (so
// the rename stays on one file system), fsync, chmod 0644, rename, then an
// fsync of the directory so the rename survives a crash.
func WriteFileAtomic(path string, data []byte) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomic is WriteFileAtomic with the content written by fill.
func writeFileAtomic(path string, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// What is replaced must be a report: never a device, a link or a pipe
	// (as root, -o json=/dev/null would otherwise turn the device into a
	// file). An existing report keeps its mode; a new one gets the umask's.
	// Its owner and group are kept too (see keepOwner).
	mode := os.FileMode(0o666)
	var was *owner
	switch st, err := os.Lstat(path); {
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s: %w", path, errNotRegular)
	case err == nil:
		mode = st.Mode().Perm()
		if o, ok := ownerOf(st); ok {
			was = &o
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	// A leading dot keeps the textfile collector, which reads only *.prom,
	// and most globbing tools away from the half-written file.
	tmp, err := createExclusive(dir, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err = fill(tmp); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if was != nil {
		// Before the chmod: a chown clears set-id bits.
		if err = keepOwner(tmp, *was); err != nil {
			return fmt.Errorf("%s: %w", path, unwrapPath(err))
		}
	}
	if err = tmp.Chmod(mode &^ umaskOf(tmp, mode)); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapRename(err))
	}
	// Best effort: some file systems refuse to fsync a directory, and the
	// file is already complete and in place.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func unwrapRename(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// errNotRegular refuses to replace what is not a regular file.
var errNotRegular = errors.New("exists and is not a regular file (a device, a link, a directory or a pipe): refusing to replace it")

// writable checks, before anything is probed, that a report can be written
// at path: it is a regular file or absent, its directory takes a new file
// (made and removed at once), and an existing file can be replaced by that
// new one with its owner kept, as WriteFileAtomic will: the chown is tried
// on the new file, and a sticky directory's rule is checked (rename(2)
// there fails unless this run owns the file or the directory).
func writable(path string) error {
	st, err := os.Lstat(path)
	exists := err == nil
	if exists && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	} else if exists && !st.Mode().IsRegular() {
		return fmt.Errorf("%s %w", path, errNotRegular)
	}
	dir := filepath.Dir(path)
	f, err := createExclusive(dir, "."+filepath.Base(path)+".probe-")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, unwrapPath(err))
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if !exists {
		return nil
	}
	was, ok := ownerOf(st)
	if !ok {
		return nil
	}
	if dst, err := os.Stat(dir); err == nil {
		if why := stickyRefusal(dst, was); why != "" {
			return fmt.Errorf("%s cannot be replaced: %s", path, why)
		}
	}
	if err := keepOwner(f, was); err != nil {
		return fmt.Errorf("%s cannot be replaced: %w", path, unwrapPath(err))
	}
	return nil
}

// createExclusive makes a new file dir/prefix+random with O_EXCL, which
// never follows a link planted at that name, and with 0666 so that the
// kernel applies the process's umask.
func createExclusive(dir, prefix string) (*os.File, error) {
	for range 16 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(b[:])), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("no free temporary name")
}

// umaskOf is the umask the kernel applied to f, created with 0666: the
// bits it cleared. An existing report's own mode is kept whatever the umask
// (want has its bits).
func umaskOf(f *os.File, want os.FileMode) os.FileMode {
	if want != 0o666 {
		return 0
	}
	st, err := f.Stat()
	if err != nil {
		return 0o022
	}
	return 0o666 &^ st.Mode().Perm()
}

// staleAge is how old a temporary copy must be before RemoveStale takes
// it: a run writes and renames one within milliseconds, under the lock.
const staleAge = time.Minute

// RemoveStale removes the temporary copies of path that a killed run left
// beside it (".NAME.tmp-…" of WriteFileAtomic, ".NAME.probe-…" of the
// check before probing), so that they do not pile up, one per killed run.
// It is called under the lock of path (package filelock), when no other
// run can be writing one; it takes only names of exactly that pattern,
// in path's own directory, regular files older than staleAge, and only
// this run's own unless it runs as root. Failures are ignored: these are
// leftovers, not the report. It returns the names it removed.
func RemoveStale(path string, now time.Time) []string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	euid := os.Geteuid()
	var removed []string
	for _, e := range entries {
		if !isTempOf(e.Name(), base) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || now.Sub(st.ModTime()) < staleAge {
			continue
		}
		if o, ok := ownerOf(st); ok && euid != 0 && o.uid != euid {
			continue
		}
		if os.Remove(p) == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// isTempOf tells the names createExclusive gives the temporary copies of
// base: "." base ".tmp-" or ".probe-", then 12 lower-case hex digits.
func isTempOf(name, base string) bool {
	for _, kind := range []string{".tmp-", ".probe-"} {
		rest, ok := strings.CutPrefix(name, "."+base+kind)
		if ok && len(rest) == 12 && strings.Trim(rest, "0123456789abcdef") == "" {
			return true
		}
	}
	return false
}
