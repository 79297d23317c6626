package testtool

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SeedBodies adds to f's corpus the recorded bodies named (files in dir;
// a missing one is left out) and the malformed shapes every Azure body is
// tried with: empty, null, the wrong type, lists of junk, fields of the
// wrong kind.
func SeedBodies(f *testing.F, dir string, names ...string) {
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"value": null}`, `{"value": [null, {}, 1, "x"]}`,
		`{"value": [{"addressPrefix": "not a prefix", "tagMap": "x", "nextHopIpAddress": [1]}]}`,
		`{"value": [{"effectiveSecurityRules": [{"destinationPortRange": "70000-1", "protocol": "All"}], "tagMap": {"A": ["::/0", 5]}}]}`} {
		f.Add([]byte(s))
	}
}

// WriteRepeated writes chunk times times, stopping when the client goes:
// a large body a test server sends without holding it.
func WriteRepeated(w http.ResponseWriter, chunk []byte, times int) {
	for range times {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// Allocated is what f allocated, in bytes, on every goroutine (the test's
// servers included): TotalAlloc counts every allocation, also those the
// collector has freed since, so a body held whole at any moment shows.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
