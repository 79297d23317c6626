// Package inputfile opens the files an operator names for apimprobe to
// read (--azure-roots, --service-tags, --state). Such a name may be a pipe
// or a device: os.Open on a FIFO waits for a writer for ever, and /dev/zero
// never ends. Open answers at once, and only with a regular file.
package inputfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotRegular is returned for a FIFO, a device, a socket or a directory.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading. O_NONBLOCK keeps a FIFO with no writer from
// blocking the open; the file's type is then checked on the descriptor that
// was opened (no window between a stat and the open), and anything but a
// regular file is closed and refused with ErrNotRegular, naming its type.
// The error leaves out the *PathError wrapper: callers name the path.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, typeOf(st.Mode()))
	}
	return f, nil
}

func typeOf(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}
