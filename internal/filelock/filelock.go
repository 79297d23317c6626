// Package filelock keeps two apimprobe runs that write the same files from
// overlapping. Before probing, a run takes an exclusive flock(2) on a lock
// file beside each file it will write (".NAME.lock": node_exporter's
// textfile collector reads only *.prom, and the leading dot keeps globs
// away). A second run waits until the first has written its reports, then
// probes and writes its own, so the newest files come from the newest run
// and a --state file is read and written by one run at a time. The kernel
// drops the lock when the process dies, so a crash never leaves a stale one.
package filelock

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PathFor is the lock file that guards path.
func PathFor(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".lock")
}

// HeldError says that another run still held a lock when the wait ended.
type HeldError struct {
	Path   string        // the lock file
	PID    string        // the holder's process id, as it wrote it ("" if unknown)
	Waited time.Duration // how long this run waited
}

func (e *HeldError) Error() string {
	who := "another apimprobe run"
	if e.PID != "" {
		who += " (pid " + e.PID + ")"
	}
	return fmt.Sprintf("%s still holds %s after %s: nothing was probed", who, e.Path, e.Waited.Round(time.Millisecond))
}

// lockPaths turns the files a run writes into their lock files, sorted and
// without duplicates, so that two runs always lock in the same order and
// cannot deadlock each other.
func lockPaths(files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		out = append(out, PathFor(abs))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func trimPID(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 20 || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return ""
	}
	return s
}
