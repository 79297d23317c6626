// Package report is the JSON report of SPEC.md (schema_version 1): the
// context the run discovered, one entry per check, and the verdict. Output
// formats in package output render this value; nothing else defines its shape.
package report

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// SchemaVersion is raised whenever the JSON shape breaks compatibility.
const SchemaVersion = 1

type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Context describes this VM and the instance. Unknown values are left out,
// never guessed; Sources says where each discovered value came from.
type Context struct {
	Hostname          string             `json:"hostname,omitempty"`
	VMPrivateIP       string             `json:"vm_private_ip,omitempty"`
	VMPublicIP        string             `json:"vm_public_ip,omitempty"`
	Subnet            string             `json:"subnet,omitempty"`
	Region            string             `json:"region,omitempty"`
	SubscriptionID    string             `json:"subscription_id,omitempty"`
	ResourceGroup     string             `json:"resource_group,omitempty"`
	Cloud             probes.Cloud       `json:"cloud"`
	Service           string             `json:"service,omitempty"`
	Mode              probes.Mode        `json:"mode"`
	Phase             probes.DeployPhase `json:"phase"`
	InstancePrivateIP string             `json:"instance_private_ip,omitempty"`
	InstancePublicIP  string             `json:"instance_public_ip,omitempty"`
	Resolvers         []string           `json:"resolvers,omitempty"`
	// ResolverSources says where each of Resolvers came from: resolv.conf,
	// flag, systemd-resolved (the servers behind a local stub resolver),
	// azure-dns. Added within schema_version 1.
	ResolverSources map[string]string `json:"resolver_sources,omitempty"`
	// ResolverNote says why the servers behind a local stub resolver are
	// not among Resolvers, when they could not be found. Added within
	// schema_version 1.
	ResolverNote string            `json:"resolver_note,omitempty"`
	Credential   string            `json:"credential,omitempty"`
	Sources      map[string]string `json:"sources,omitempty"`
	// Instance is what Resource Manager shows of the instance; nil when it
	// was not read. Added within schema_version 1.
	Instance *Instance `json:"instance,omitempty"`
	// Command is the command line as run, secrets removed. Added within
	// schema_version 1.
	Command string `json:"command,omitempty"`
}

// Instance is the API Management instance as Resource Manager describes it.
type Instance struct {
	ID       string `json:"id,omitempty"`
	SKU      string `json:"sku,omitempty"`
	Capacity int    `json:"capacity,omitempty"`
	// Platform is the compute platform version (stv2, stv2.1, …).
	Platform  string   `json:"platform,omitempty"`
	Locations []string `json:"locations,omitempty"`
}

type Summary struct {
	Verdict string `json:"verdict"`
	Pass    int    `json:"pass"`
	Warn    int    `json:"warn"`
	Fail    int    `json:"fail"`
	Skip    int    `json:"skip"`
	// Headline is one sentence that correlates findings across checks, when
	// there is something to say (for example a forced tunnel through an
	// inspecting appliance). Optional; added within schema_version 1.
	Headline string `json:"headline,omitempty"`
}

// Check is one entry of the report's checks array.
type Check struct {
	ID           string           `json:"id"`
	Title        string           `json:"title"`
	Category     string           `json:"category"`
	Required     bool             `json:"required"`
	Kind         string           `json:"kind"`
	Target       string           `json:"target,omitempty"`
	ResourceType string           `json:"resource_type,omitempty"`
	Status       probes.Status    `json:"status"`
	Reason       probes.Reason    `json:"reason"`
	FailedPhase  probes.Phase     `json:"failed_phase,omitempty"`
	Message      string           `json:"message,omitempty"`
	Hint         string           `json:"hint,omitempty"`
	DurationMS   int64            `json:"duration_ms"`
	Phases       map[string]int64 `json:"phases,omitempty"`
	Addresses    []string         `json:"addresses,omitempty"`
	Evidence     map[string]any   `json:"evidence,omitempty"`
	// Since is when the check entered its current status, known with
	// --state (the first run that saw it, or the run that changed it).
	// Added within schema_version 1.
	Since time.Time `json:"since,omitzero"`
}

// Change is one entry of the report's changes (with --state): a check whose
// status differs from the previous run's. Since is this run's start, when
// the change was first seen.
type Change struct {
	ID    string        `json:"id"`
	From  probes.Status `json:"from"`
	To    probes.Status `json:"to"`
	Since time.Time     `json:"since"`
}

type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          Tool      `json:"tool"`
	StartedAt     time.Time `json:"started_at"`
	DurationMS    int64     `json:"duration_ms"`
	Context       Context   `json:"context"`
	Summary       Summary   `json:"summary"`
	// Findings is the diagnosis: one entry per root cause, most severe
	// first. Added within schema_version 1; always present (possibly empty)
	// in a report of a run.
	Findings []Finding `json:"findings"`
	Checks   []Check   `json:"checks"`
	// Changes lists the checks whose status differs from the previous run
	// (--state), in id order.
	Changes []Change `json:"changes,omitempty"`
	// Interrupted is set when a signal ended the run: Checks holds only the
	// checks that finished before it, and no report file is replaced.
	Interrupted bool `json:"interrupted,omitempty"`

	// PreviousRun is when the run recorded in the --state file started;
	// zero without --state or on its first run. The table uses it to say
	// "no change since"; it is not part of the JSON.
	PreviousRun time.Time `json:"-"`
}

// Finding severities.
const (
	SeverityBlocking  = "blocking"
	SeverityDegrading = "degrading"
	SeverityInfo      = "info"
)

// Finding is one root cause and the checks it explains. A rule may yield
// several findings with the same id (one per resolver, NSG rule or CA);
// their evidence tells them apart.
type Finding struct {
	ID       string         `json:"id"`
	Severity string         `json:"severity"`
	Title    string         `json:"title"`
	Cause    string         `json:"cause"`
	Checks   []string       `json:"checks"`
	Evidence map[string]any `json:"evidence,omitempty"`
	Fix      Fix            `json:"fix"`
}

// Fix is the change that removes a finding's cause: one sentence, and the
// az commands that make it where one exists, filled with what the run knows
// (<placeholders> for the rest).
type Fix struct {
	Summary  string   `json:"summary"`
	Commands []string `json:"commands,omitempty"`
}

// Verdicts.
const (
	Ready    = "ready"
	Degraded = "degraded"
	Blocked  = "blocked"
	// Interrupted is an interrupted run's verdict: a signal ended it, and
	// what had finished is shown but not judged (SPEC: exit codes 130, 143).
	Interrupted = "interrupted"
)

// MarkInterrupted marks r as ended by a signal: whatever had failed before
// it, the run is not judged, in any format.
func (r *Report) MarkInterrupted() {
	r.Interrupted = true
	r.Summary.Verdict = Interrupted
	r.Summary.Headline = ""
}

// FromOutcomes fills Checks (sorted by id) and Summary from the runner's
// outcomes.
// MarshalJSON writes findings as [] when there are none: SPEC has the key
// in every report, and a consumer should not have to tell null from empty.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	// HTML escaping is the caller's choice (the json format turns it off).
	var b bytes.Buffer
	// About what a lab run's checks take (2.7 KB each), so that the
	// buffer is not grown by doubling through every size below it.
	b.Grow(4096 + 3072*len(r.Checks))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain(r)); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func (r *Report) FromOutcomes(outs []probes.Outcome) {
	r.Checks = make([]Check, 0, len(outs))
	for _, o := range outs {
		c, res := o.Check, o.Result
		r.Checks = append(r.Checks, Check{
			ID: c.ID, Title: c.Title, Category: c.Category, Required: c.Required,
			Kind: string(c.Kind), Target: c.Target.String(), ResourceType: c.ResourceType,
			Status: res.Status, Reason: res.Reason, FailedPhase: failedPhase(res),
			Message: res.Message, Hint: res.Hint,
			DurationMS: res.Duration.Milliseconds(), Phases: res.Phases,
			Addresses: res.Addresses, Evidence: res.EvidenceMap(),
		})
	}
	sort.SliceStable(r.Checks, func(i, j int) bool { return r.Checks[i].ID < r.Checks[j].ID })
	r.Summary = Summarize(r.Checks)
}

// failed_phase is only meaningful on fail and warn.
func failedPhase(res probes.Result) probes.Phase {
	if res.Status == probes.Fail || res.Status == probes.Warn {
		return res.FailedPhase
	}
	return probes.PhaseNone
}

// Summarize counts statuses and decides the verdict: blocked when a required
// check fails, degraded when an optional check fails or any check warns,
// ready otherwise.
func Summarize(checks []Check) Summary {
	var s Summary
	requiredFail, otherBad := false, false
	for _, c := range checks {
		switch c.Status {
		case probes.Pass:
			s.Pass++
		case probes.Warn:
			s.Warn++
			otherBad = true
		case probes.Fail:
			s.Fail++
			if c.Required {
				requiredFail = true
			} else {
				otherBad = true
			}
		case probes.Skip:
			s.Skip++
		}
	}
	switch {
	case requiredFail:
		s.Verdict = Blocked
	case otherBad:
		s.Verdict = Degraded
	default:
		s.Verdict = Ready
	}
	return s
}

// ExitCode maps the verdict to SPEC's exit codes.
func (r *Report) ExitCode(strict bool) int {
	switch r.Summary.Verdict {
	case Blocked:
		return 1
	case Degraded:
		if strict {
			return 1
		}
	}
	return 0
}

// InstanceStatus is what the deployed instance itself reports for the
// check's dependency (evidence "instance_status"), whether the evidence is
// typed (a run's) or plain (a report read back); nil when none.
func (c Check) InstanceStatus() []probes.InstanceStatus {
	v, ok := c.Evidence["instance_status"]
	if !ok || v == nil {
		return nil
	}
	if st, ok := v.([]probes.InstanceStatus); ok {
		return st
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var st []probes.InstanceStatus
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return st
}
