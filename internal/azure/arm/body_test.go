package arm

import (
	"bytes"
	"io"
	"testing"
)

// The bound itself: at most limit bytes, then an error, never more read
// from below than limit+1 bytes.
func TestCapReader(t *testing.T) {
	for _, size := range []int{0, 10, 99, 100, 101, 5000} {
		src := &countingReader{r: bytes.NewReader(make([]byte, size))}
		got, err := io.ReadAll(&capReader{r: src, left: 100, limit: 100, what: "on the wire"})
		switch {
		case size <= 100 && (err != nil || len(got) != size):
			t.Errorf("%d bytes: %d read, %v", size, len(got), err)
		case size > 100 && (err == nil || len(got) != 100):
			t.Errorf("%d bytes: %d read, %v; want 100 and an error", size, len(got), err)
		}
		if src.n > 101 {
			t.Errorf("%d bytes: %d read from below", size, src.n)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
