package run

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The waiting line names the reads that have run long enough, with the
// oldest one's age, rewrites itself, and is cleared when the run stops. Its
// ticker runs in virtual time.
func TestProgressLine(t *testing.T) { synctest.Test(t, testProgressLine) }

func testProgressLine(t *testing.T) {
	if got := progressLine([]azdiscover.PendingRead{{Title: "effective routes", For: 4200 * time.Millisecond}, {Title: "the VM", For: time.Second}}, 2*time.Second); got != "waiting for Resource Manager: effective routes, 4 s" {
		t.Errorf("line %q", got)
	}
	if got := progressLine([]azdiscover.PendingRead{{Title: "the VM", For: time.Second}}, 2*time.Second); got != "" {
		t.Errorf("a read younger than the threshold is not worth a line: %q", got)
	}
	var mu sync.Mutex
	pending := []azdiscover.PendingRead{{Title: "effective NSGs", For: 3 * time.Second}}
	var buf syncBuf
	stop := showProgress(&buf, func() []azdiscover.PendingRead { mu.Lock(); defer mu.Unlock(); return pending }, 10*time.Millisecond, 2*time.Second)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	pending = nil
	mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	stop()
	out := buf.String()
	if !strings.Contains(out, "\r\033[Kwaiting for Resource Manager: effective NSGs, 3 s") || !strings.HasSuffix(out, "\r\033[K") || strings.Contains(out, "\n") {
		t.Errorf("progress output %q", out)
	}
	// No writer (not a terminal): nothing, and stop returns.
	showProgress(nil, nil, time.Millisecond, 0)()
}
