package testtool

import (
	"bytes"
	"runtime"
	"testing"
)

// BubbleGoroutines counts the goroutines of the calling goroutine's
// testing/synctest bubble, from their stacks' headers: what a test of
// goroutine economy (none left behind, none per waiter) counts.
func BubbleGoroutines(t *testing.T) int {
	t.Helper()
	self := make([]byte, 256)
	self = self[:runtime.Stack(self, false)]
	_, rest, ok := bytes.Cut(self, []byte(", synctest bubble "))
	if !ok {
		t.Fatalf("not in a synctest bubble: %s", self)
	}
	bubble, _, _ := bytes.Cut(rest, []byte("]"))
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	mark := []byte(", synctest bubble " + string(bubble) + "]:\n")
	n := 0
	for line := range bytes.Lines(buf) {
		if bytes.HasPrefix(line, []byte("goroutine ")) && bytes.HasSuffix(line, mark) {
			n++
		}
	}
	return n
}
