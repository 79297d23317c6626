package run

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The debug line that ends a run says when the analyses were done and when
// Resource Manager's reads had ended, from the run's start; without
// Resource Manager, only the first.
func TestLogDone(t *testing.T) {
	for _, tc := range []struct {
		snap *snapshot.Snapshot
		arm  bool
	}{
		{&snapshot.Snapshot{Enabled: true, Duration: 42 * time.Millisecond, Reads: map[string]*snapshot.Read{"vm": {}, "nic": {}}}, true},
		{&snapshot.Snapshot{}, false},
		{nil, false},
	} {
		var buf bytes.Buffer
		logDone(zerolog.New(&buf).Level(zerolog.DebugLevel), time.Now().Add(-100*time.Millisecond), tc.snap)
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%q: %v", buf.String(), err)
		}
		if line["message"] != "analyses done" || line["after"].(float64) < 100 {
			t.Errorf("line %v", line)
		}
		if got := line["arm_reads_after"]; tc.arm != (got != nil) || tc.arm && (got.(float64) != 42 || line["arm_reads"].(float64) != 2) {
			t.Errorf("arm %v: line %v", tc.arm, line)
		}
	}
}
