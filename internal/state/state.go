// Package state is what --state FILE keeps between runs: each check's last
// status and since when. A run reads it, says in the report which checks
// changed (SPEC: changes) and when each entered its status (check.since, and
// Prometheus's time of last change, so an alert can say "since 10:15"), and
// writes it back atomically once the report is out. An interrupted run
// leaves it as it was.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/apimprobe/apimprobe/internal/inputfile"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/output"
	"github.com/apimprobe/apimprobe/probes"
)

// Version is the state file's format.
const Version = 1

// MaxSize bounds what is read: a state file of a few hundred checks is a
// few tens of kilobytes, and anything far larger is not ours.
const MaxSize = 4 << 20

// Entry is one check's remembered status.
type Entry struct {
	Status probes.Status `json:"status"`
	Reason probes.Reason `json:"reason,omitempty"`
	Since  time.Time     `json:"since"`
}

type file struct {
	Version int              `json:"version"`
	LastRun time.Time        `json:"last_run,omitzero"`
	Checks  map[string]Entry `json:"checks"`
}

// Store is an opened state file.
type Store struct {
	path    string
	f       file
	dropped []string
}

// idRE is a check id as the report's schema has it.
var idRE = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)+$`)

// maxID bounds a remembered check id; the catalogue's are far shorter.
const maxID = 256

// Dropped says which remembered entries Open threw away as not the
// report's own, one line each, for the log.
func (s *Store) Dropped() []string { return s.dropped }

// validate keeps of f what the report itself could have written: check
// ids of the schema's form, statuses and reasons of the closed
// vocabularies, and times that are not in the future (a status that
// starts next year would be the report's "since"). What is not is dropped
// and said, not trusted: the file is a disk's word, and another hand may
// have written it.
func (s *Store) validate(now time.Time) {
	statuses := map[probes.Status]bool{}
	for _, st := range probes.Statuses() {
		statuses[st] = true
	}
	reasons := map[probes.Reason]bool{"": true}
	for _, r := range probes.Reasons() {
		reasons[r] = true
	}
	for id, e := range s.f.Checks {
		why := ""
		switch {
		case len(id) > maxID || !idRE.MatchString(id):
			why = "not a check id"
		case !statuses[e.Status]:
			why = "status " + strconv.Quote(probes.Untrusted(string(e.Status), 40)) + " is not one of pass, warn, fail, skip"
		case !reasons[e.Reason]:
			why = "reason " + strconv.Quote(probes.Untrusted(string(e.Reason), 40)) + " is not one of the report's"
		case e.Since.IsZero():
			why = "no since"
		case e.Since.After(now):
			why = "since " + e.Since.UTC().Format(time.RFC3339) + " is in the future"
		}
		if why != "" {
			delete(s.f.Checks, id)
			s.dropped = append(s.dropped, strconv.Quote(probes.Untrusted(id, 80))+": "+why)
		}
	}
	if s.f.LastRun.After(now) {
		s.dropped = append(s.dropped, "last_run "+s.f.LastRun.UTC().Format(time.RFC3339)+" is in the future")
		s.f.LastRun = time.Time{}
	}
	sort.Strings(s.dropped)
}

// Open reads path. A file that does not exist yet is an empty state (the
// first run); one that cannot be read, is too large or is not a state file
// is an error, so that a typo in --state does not silently start over.
func Open(path string) (*Store, error) {
	s := &Store{path: path, f: file{Version: Version, Checks: map[string]Entry{}}}
	fh, err := inputfile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--state %s: %w", path, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("--state %s: larger than %d MiB, not a state file", path, MaxSize>>20)
	}
	if len(b) == 0 {
		return s, nil
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("--state %s: not an apimprobe state file (%v); remove it to start over", path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("--state %s: format version %d, this apimprobe reads %d; remove it to start over", path, f.Version, Version)
	}
	if f.Checks == nil {
		f.Checks = map[string]Entry{}
	}
	s.f = f
	s.validate(time.Now())
	return s, nil
}

// Apply compares r with the remembered state: it sets each check's Since,
// r.Changes (checks whose status differs from the previous run, by id) and
// r.PreviousRun, and remembers r's statuses for Save. A check the previous
// run did not have is new, not a change. Checks this run did not make (an
// --only subset) keep their remembered entry.
func (s *Store) Apply(r *report.Report) {
	now := r.StartedAt.UTC()
	r.PreviousRun = s.f.LastRun
	r.Changes = nil
	for i := range r.Checks {
		c := &r.Checks[i]
		prev, known := s.f.Checks[c.ID]
		since := now
		switch {
		case known && prev.Status == c.Status:
			since = prev.Since
		case known:
			r.Changes = append(r.Changes, report.Change{ID: c.ID, From: prev.Status, To: c.Status, Since: now})
		}
		c.Since = since
		s.f.Checks[c.ID] = Entry{Status: c.Status, Reason: c.Reason, Since: since}
	}
	sort.Slice(r.Changes, func(i, j int) bool { return r.Changes[i].ID < r.Changes[j].ID })
	s.f.LastRun = now
}

// Save writes the state atomically (a reader never sees half a file).
func (s *Store) Save() error {
	b, err := json.MarshalIndent(&s.f, "", "  ")
	if err != nil {
		return err
	}
	if err := output.WriteFileAtomic(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return nil
}
