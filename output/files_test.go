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
