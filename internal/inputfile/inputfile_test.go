package inputfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO with no writer is refused at once (os.Open would wait for a
// writer for ever); a device and a directory are refused; a regular file
// opens and reads.
func TestOpenRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, p := range []string{fifo, "/dev/zero", dir} {
		f, err := Open(p)
		if !errors.Is(err, ErrNotRegular) {
			if f != nil {
				f.Close()
			}
			t.Errorf("%s: got %v, want ErrNotRegular", p, err)
		}
	}
	file := filepath.Join(dir, "roots.pem")
	os.WriteFile(file, []byte("pem"), 0o600)
	f, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "pem" {
		t.Fatalf("read %q", b)
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
