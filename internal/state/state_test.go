package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

func runAt(at time.Time, statuses map[string]probes.Status) *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion, Tool: report.Tool{Name: "apimprobe"}, StartedAt: at,
		Context: report.Context{Cloud: probes.CloudPublic, Mode: probes.ModeInternal, Phase: probes.DeployPost},
	}
	for _, id := range []string{"dns.gateway", "outbound.sql", "outbound.storage.blob"} {
		st, ok := statuses[id]
		if !ok {
			continue
		}
		c := report.Check{ID: id, Title: id, Category: "x", Kind: "tcp", Required: true, Status: st, Reason: probes.ReasonOK}
		switch st {
		case probes.Fail:
			c.Reason, c.Hint = probes.ReasonTimeout, "open it"
		case probes.Skip:
			c.Reason = probes.ReasonNoData
		}
		r.Checks = append(r.Checks, c)
	}
	r.Summary = report.Summarize(r.Checks)
	return r
}

// Three runs, as a timer makes them: the first remembers, the second sees
// SQL go from pass to fail, the third sees nothing new and keeps the time
// SQL started failing.
func TestChangesAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apimprobe.state")
	t1 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	t2, t3 := t1.Add(5*time.Minute), t1.Add(10*time.Minute)

	s := mustOpen(t, path)
	r1 := runAt(t1, map[string]probes.Status{"dns.gateway": probes.Pass, "outbound.sql": probes.Pass})
	s.Apply(r1)
	if len(r1.Changes) != 0 || !r1.PreviousRun.IsZero() {
		t.Fatalf("first run: changes %v, previous %v", r1.Changes, r1.PreviousRun)
	}
	if !r1.Checks[1].Since.Equal(t1) {
		t.Fatalf("since %v", r1.Checks[1].Since)
	}
	mustSave(t, s)

	s = mustOpen(t, path)
	r2 := runAt(t2, map[string]probes.Status{"dns.gateway": probes.Pass, "outbound.sql": probes.Fail, "outbound.storage.blob": probes.Skip})
	s.Apply(r2)
	want := []report.Change{{ID: "outbound.sql", From: probes.Pass, To: probes.Fail, Since: t2}}
	if len(r2.Changes) != 1 || r2.Changes[0] != want[0] {
		t.Fatalf("changes %+v, want %+v (a new check is not a change)", r2.Changes, want)
	}
	if !r2.PreviousRun.Equal(t1) || !r2.Checks[0].Since.Equal(t1) || !r2.Checks[1].Since.Equal(t2) {
		t.Fatalf("previous %v, dns since %v, sql since %v", r2.PreviousRun, r2.Checks[0].Since, r2.Checks[1].Since)
	}
	schematest.ValidateReport(t, r2)
	mustSave(t, s)

	// An --only run of one check keeps the others remembered.
	s = mustOpen(t, path)
	r3 := runAt(t3, map[string]probes.Status{"outbound.sql": probes.Fail})
	s.Apply(r3)
	if len(r3.Changes) != 0 || !r3.Checks[0].Since.Equal(t2) {
		t.Fatalf("third run: changes %v, sql since %v (want %v)", r3.Changes, r3.Checks[0].Since, t2)
	}
	mustSave(t, s)
	s = mustOpen(t, path)
	if e, ok := s.f.Checks["dns.gateway"]; !ok || e.Status != probes.Pass || !e.Since.Equal(t1) {
		t.Fatalf("dns.gateway forgotten by an --only run: %+v", e)
	}
}

func TestOpenRefusesWhatIsNotAStateFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, tc := range map[string]struct{ path, want string }{
		"garbage":   {write("garbage", "not json"), "not an apimprobe state file"},
		"version":   {write("v9", `{"version":9,"checks":{}}`), "format version 9"},
		"directory": {dir, "not a regular file"},
		"too large": {write("big", `{"version":1,"checks":{},"x":"`+strings.Repeat("a", MaxSize)+`"}`), "larger than"},
	} {
		if _, err := Open(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	if s, err := Open(filepath.Join(dir, "new")); err != nil || len(s.f.Checks) != 0 {
		t.Fatalf("a missing file is the first run: %v", err)
	}
	if _, err := Open(write("empty", "")); err != nil {
		t.Fatalf("an empty file is the first run: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSave(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
}

// What the state file says is read as the report's own or not at all: an
// entry with a status or reason off the vocabulary, a since in the future,
// or an id that is no check id is dropped and said; the rest is kept.
func TestOpenDropsWhatIsNotTheReportsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	future := time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)
	os.WriteFile(path, []byte(`{"version":1,"last_run":"`+future+`","checks":{
		"outbound.sql":{"status":"fail","reason":"timeout","since":"2026-11-21T10:00:00Z"},
		"dns.gateway":{"status":"pwned","since":"2026-11-21T10:00:00Z"},
		"outbound.storage.blob":{"status":"pass","since":"`+future+`"},
		"tls.storage":{"status":"warn","reason":"made-up","since":"2026-11-21T10:00:00Z"},
		"inbound.mgmt":{"status":"pass"},
		"evil \u001b[31mid":{"status":"pass","since":"2026-11-21T10:00:00Z"}}}`), 0o600)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Dropped()) != 6 {
		t.Fatalf("dropped %d, want 6 (5 entries and last_run):\n%s", len(s.Dropped()), strings.Join(s.Dropped(), "\n"))
	}
	for _, d := range s.Dropped() {
		if strings.ContainsAny(d, "\x1b\n") {
			t.Errorf("a dropped entry is said as it came: %q", d)
		}
	}
	r := runAt(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), map[string]probes.Status{
		"dns.gateway": probes.Fail, "outbound.sql": probes.Fail, "outbound.storage.blob": probes.Pass})
	s.Apply(r)
	if !r.PreviousRun.IsZero() {
		t.Errorf("previous run %v from a last_run in the future", r.PreviousRun)
	}
	for _, c := range r.Checks {
		want := r.StartedAt // new: the dropped entries are forgotten
		if c.ID == "outbound.sql" {
			want = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
		}
		if !c.Since.Equal(want) {
			t.Errorf("%s since %v, want %v", c.ID, c.Since, want)
		}
	}
	if len(r.Changes) != 0 {
		t.Errorf("changes from dropped entries: %+v", r.Changes)
	}
	schematest.ValidateReport(t, r)
}

// FuzzStateFile: a --state file of any content opens as a state or is
// refused with one line; an opened one keeps only entries of the report's
// own vocabulary and ids, applies to a report without a panic, and what it
// saves opens again to the same entries.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"last_run":"2026-11-21T10:00:00Z","checks":{"outbound.sql":{"status":"fail","reason":"timeout","since":"2026-11-21T10:00:00Z"}}}`))
	f.Add([]byte(`{"version":1,"checks":{"dns.gateway":{"status":"pwned","since":"2999-01-01T00:00:00Z"},"x":{"status":"pass"}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"checks":null}`))
	f.Add([]byte(``))
	f.Add([]byte(`[`))
	// Save fsyncs: on a disk that is a disk write per input, so the
	// inputs go to memory (/dev/shm) where there is one.
	dir, err := os.MkdirTemp("/dev/shm", "apimprobe-fuzz-state")
	if err != nil {
		dir = f.TempDir()
	} else {
		f.Cleanup(func() { os.RemoveAll(dir) })
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		now := time.Now()
		for id, e := range s.f.Checks {
			if !idRE.MatchString(id) || e.Since.After(now) || e.Since.IsZero() {
				t.Fatalf("kept %q: %+v", id, e)
			}
		}
		for _, d := range s.Dropped() {
			if strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("dropped entry said with a control character: %q", d)
			}
		}
		r := runAt(now.UTC().Truncate(time.Second), map[string]probes.Status{"dns.gateway": probes.Fail, "outbound.sql": probes.Pass})
		s.Apply(r)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		again, err := Open(path)
		if err != nil {
			t.Fatalf("what Save wrote does not open: %v", err)
		}
		if len(again.f.Checks) != len(s.f.Checks) || len(again.Dropped()) != 0 {
			t.Fatalf("saved %d entries, read back %d (dropped %v)", len(s.f.Checks), len(again.f.Checks), again.Dropped())
		}
	})
}
