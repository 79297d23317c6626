//go:build unix

package output

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// failingFile writes the first n bytes of what it is given, then fails as
// a full disk does.
type failingFile struct {
	*os.File
	n int
}

func (f *failingFile) Write(p []byte) (int, error) {
	k := min(f.n, len(p))
	w, _ := f.File.Write(p[:k])
	return w, syscall.ENOSPC
}

// An append that fails part-way leaves the file as it was: no half line
// for the next run's line to be glued to.
func TestAppendThatFailsLeavesNoPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apimprobe.jsonl")
	before := "{\"run\":1}\n"
	os.WriteFile(path, []byte(before), 0o644)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = appendWhole(&failingFile{File: f, n: 7}, []byte("{\"run\":2,\"checks\":[]}\n"))
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want the disk's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != before {
		t.Fatalf("the failed append left %q", b)
	}
	// The next run's line is then a line of its own.
	if err := AppendFile(path, []byte("{\"run\":3}\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != before+"{\"run\":3}\n" {
		t.Fatalf("file %q", b)
	}
}

// A file that ends in half a line (an older run, a crash) gets a newline
// before this run's line, which so stays whole and parseable.
func TestAppendAfterAHalfLineStartsANewOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apimprobe.jsonl")
	os.WriteFile(path, []byte("{\"run\":1}\n{\"ru"), 0o644)
	if err := AppendFile(path, []byte("{\"run\":2}\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\"run\":1}\n{\"ru\n{\"run\":2}\n" {
		t.Fatalf("file %q", b)
	}
}

// The same with the kernel's own failure, no root needed: a child process
// whose file size limit (RLIMIT_FSIZE) lets only part of the line in gets
// EFBIG mid-write, and the file is left as it was.
func TestAppendAtTheFileSizeLimit(t *testing.T) {
	if path := os.Getenv("APIMPROBE_FSIZE_CHILD"); path != "" {
		// SIGXFSZ would kill the process; ignored, the write fails instead.
		signal.Ignore(syscall.SIGXFSZ)
		lim := unix.Rlimit{Cur: 100, Max: 100}
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
			os.Exit(3)
		}
		err := AppendFile(path, bytes.Repeat([]byte("x"), 150))
		if !errors.Is(err, syscall.EFBIG) {
			os.Stderr.WriteString("append: " + errString(err) + "\n")
			os.Exit(4)
		}
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "apimprobe.jsonl")
	before := strings.Repeat("a", 59) + "\n"
	os.WriteFile(path, []byte(before), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendAtTheFileSizeLimit$")
	cmd.Env = append(os.Environ(), "APIMPROBE_FSIZE_CHILD="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(path); string(b) != before {
		t.Fatalf("the failed append left %d bytes: %q", len(b), b)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// A root run replacing a non-root job's report (or state) keeps its owner,
// group and mode: otherwise the job could no longer replace it.
func TestReplacingKeepsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file another user's")
	}
	path := filepath.Join(t.TempDir(), "apimprobe.prom")
	os.WriteFile(path, []byte("old\n"), 0o600)
	if err := os.Chown(path, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o640)
	if err := WriteFileAtomic(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ownerOf(st)
	if o != (owner{4242, 4343}) || st.Mode().Perm() != 0o640 {
		t.Fatalf("replaced file is %d:%d %v, want 4242:4343 -rw-r-----", o.uid, o.gid, st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Fatalf("content %q", b)
	}
}

// A file this run could not replace is known before anything is probed: a
// report in a sticky directory that another user owns, or another user's
// report in a plain directory (replacing it would take it over). The run
// is a child process as nobody (uid 65534); root only sets the scene.
func TestFilesOthersOwnAreRefusedBeforehand(t *testing.T) {
	if spec := os.Getenv("APIMPROBE_VALIDATE_CHILD"); spec != "" {
		format, file, _ := strings.Cut(spec, "=")
		if err := Validate([]Spec{{Format: format, File: file}}); err != nil {
			os.Stdout.WriteString(err.Error())
		} else {
			os.Stdout.WriteString("ok")
		}
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	const nobody = 65534
	root, err := os.MkdirTemp("", "apimprobe-owner")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755)
	// The test binary, where nobody can run it.
	bin := filepath.Join(root, "output.test")
	if b, err := os.ReadFile(os.Args[0]); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatal(err)
	}
	mkdir := func(name string, mode os.FileMode) string {
		d := filepath.Join(root, name)
		os.Mkdir(d, 0o755)
		os.Chmod(d, mode)
		return d
	}
	sticky, plain := mkdir("sticky", 0o777|os.ModeSticky), mkdir("plain", 0o777)
	file := func(dir, name string, uid int) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("old\n"), 0o666)
		os.Chmod(p, 0o666)
		os.Chown(p, uid, uid)
		return p
	}
	for _, tc := range []struct {
		spec, want string
	}{
		{"json=" + file(sticky, "r.json", 0), "in a sticky directory only its owner (uid 0) can replace it"},
		{"json=" + file(plain, "r.json", 0), "owned by uid 0, gid 0: this run (uid 65534) would take the file over"},
		{"json=" + file(plain, "mine.json", nobody), "ok"},
		{"json=" + filepath.Join(sticky, "new.json"), "ok"},
		// A line is appended, nothing replaced: the owner stays as it is.
		{"jsonl=" + file(sticky, "r.jsonl", 0), "ok"},
	} {
		cmd := exec.Command(bin, "-test.run=^TestFilesOthersOwnAreRefusedBeforehand$")
		cmd.Env = append(os.Environ(), "APIMPROBE_VALIDATE_CHILD="+tc.spec)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: child: %v %s", tc.spec, err, out)
		}
		if !strings.Contains(string(out), tc.want) || (tc.want != "ok" && strings.Contains(string(out), "\n")) {
			t.Errorf("%s: got %q, want %q", tc.spec, out, tc.want)
		}
	}
	// Nothing was left behind by the checks.
	for _, d := range []string{sticky, plain} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".probe-") {
				t.Errorf("%s left in %s", e.Name(), d)
			}
		}
	}
}

// The copies a killed run left beside a report are removed by the next
// run; nothing else is: not a fresh copy, not another file's, not a name
// off the pattern, not a link or a directory, not another directory's.
func TestRemoveStaleTakesOnlyOurOldCopies(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * staleAge)
	mk := func(name string, mtime time.Time) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	mk(".r.json.tmp-0123456789ab", old)
	mk(".r.json.probe-cccccccccccc", old)
	mk(".r.json.tmp-0123456789ac", now) // a run may be writing it
	mk(".r.json.tmp-0123456789AB", old)
	mk(".r.json.tmp-0123456789abc", old)
	mk(".r.json.tmp-zzzzzzzzzzzz", old)
	mk(".other.json.tmp-0123456789ab", old)
	mk("r.json.tmp-0123456789ab", old)
	mk("r.json", old)
	mk("sub/.r.json.tmp-0123456789ab", old)
	os.Mkdir(filepath.Join(dir, ".r.json.tmp-aaaaaaaaaaaa"), 0o755)
	os.Symlink(filepath.Join(dir, "r.json"), filepath.Join(dir, ".r.json.tmp-bbbbbbbbbbbb"))

	got := RemoveStale(filepath.Join(dir, "r.json"), now)
	if strings.Join(got, " ") != ".r.json.probe-cccccccccccc .r.json.tmp-0123456789ab" {
		t.Errorf("removed %v", got)
	}
	assertOnlyFiles(t, dir, ".other.json.tmp-0123456789ab", ".r.json.tmp-0123456789AB", ".r.json.tmp-0123456789abc",
		".r.json.tmp-0123456789ac", ".r.json.tmp-aaaaaaaaaaaa", ".r.json.tmp-bbbbbbbbbbbb", ".r.json.tmp-zzzzzzzzzzzz",
		"r.json", "r.json.tmp-0123456789ab", "sub")
	if _, err := os.Stat(filepath.Join(dir, "sub", ".r.json.tmp-0123456789ab")); err != nil {
		t.Error("a copy in another directory was removed")
	}
}
