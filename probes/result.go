// Package probes holds apimprobe's unit of work — a Check, the Probe it runs
// and the Result it produces — together with one file per probe kind (tcp.go,
// tls.go, http.go), the single place that turns Go errors into SPEC's reason
// words (classify.go), and the concurrent runner (runner.go).
package probes

import (
	"context"
	"time"
)

// Status is SPEC's check status.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Reason is SPEC's closed vocabulary of causes. Never invent a word outside it.
type Reason string

const (
	ReasonOK               Reason = "ok"
	ReasonTimeout          Reason = "timeout"
	ReasonRefused          Reason = "refused"
	ReasonUnreachable      Reason = "unreachable"
	ReasonReset            Reason = "reset"
	ReasonNXDomain         Reason = "nxdomain"
	ReasonServFail         Reason = "servfail"
	ReasonNoAnswer         Reason = "no-answer"
	ReasonDNSTimeout       Reason = "dns-timeout"
	ReasonWrongAnswer      Reason = "wrong-answer"
	ReasonPublicAnswer     Reason = "public-answer"
	ReasonResolverDisagree Reason = "resolver-disagree"
	ReasonTLSHandshake     Reason = "tls-handshake"
	ReasonTLSUntrusted     Reason = "tls-untrusted"
	ReasonTLSNameMismatch  Reason = "tls-name-mismatch"
	ReasonTLSIntercepted   Reason = "tls-intercepted"
	ReasonHTTPStatus       Reason = "http-status"
	ReasonHTTPBody         Reason = "http-body"
	ReasonForcedTunnel     Reason = "forced-tunnel"
	ReasonAsymmetricRoute  Reason = "asymmetric-route"
	ReasonNSGRule          Reason = "nsg-rule"
	ReasonSubnetConfig     Reason = "subnet-config"
	ReasonNoData           Reason = "no-data"
	ReasonNotApplicable    Reason = "not-applicable"
	ReasonNotObservable    Reason = "not-observable"
	ReasonDeadline         Reason = "deadline"
	ReasonError            Reason = "error"
)

// Phase names where a check failed (SPEC failed_phase).
type Phase string

const (
	PhaseNone     Phase = ""
	PhaseResolve  Phase = "resolve"
	PhaseConnect  Phase = "connect"
	PhaseTLS      Phase = "tls"
	PhaseHTTP     Phase = "http"
	PhaseDNS      Phase = "dns"
	PhaseAnalysis Phase = "analysis"
)

// Result is what one probe saw. Probes fill Status, Reason, FailedPhase,
// Message, Phases, Addresses and Evidence; the catalogue that built the check
// supplies the Hint for failures (it knows the service tag and port).
type Result struct {
	Status      Status
	Reason      Reason
	FailedPhase Phase
	// Message says what was seen on the wire, in words an operator can read.
	Message string
	// Hint says what to change; required on fail and warn.
	Hint string
	// Phases holds per-phase durations keyed "resolve_ms", "connect_ms",
	// "tls_ms", "ttfb_ms", "dns_ms".
	Phases map[string]int64
	// Addresses are the IP addresses that were resolved; the first one dialled
	// is first.
	Addresses []string
	Evidence  map[string]any
	Duration  time.Duration
}

// Probe is the code that tests one thing. It must honour ctx: return promptly
// once ctx is done. The runner owns the deadline; probes never invent their own.
type Probe interface {
	Run(ctx context.Context) Result
}

// ProbeFunc adapts a function to Probe.
type ProbeFunc func(ctx context.Context) Result

func (f ProbeFunc) Run(ctx context.Context) Result { return f(ctx) }

// Check is data: what is tested, why, and the probe that tests it. A Check
// with a nil Probe is reported with its Preset result (a skip decided while
// planning, such as no-data or not-applicable).
type Check struct {
	ID       string
	Title    string
	Category string
	// ResourceType is the word APIM's NetworkStatus API uses for the same
	// dependency, so a report lines up with the portal.
	ResourceType string
	Required     bool
	// Kind is the probe kind: tcp, tls, http, dns, analysis.
	Kind string
	// Target is host:port, a URL, or a name, as the operator would type it.
	Target string
	// Why explains the dependency for `plan` and the firewall team.
	Why string
	// Source names the document the entry comes from.
	Source string
	Probe  Probe
	// Preset is the result of a check decided at planning time (Probe nil).
	Preset *Result
	// Hint turns a failed or warned result into the concrete change to make.
	// Nil means the probe's own hint stands.
	Hint func(Result) string
}

// Outcome is a check together with its result, as the runner returns it.
type Outcome struct {
	Check  Check
	Result Result
}

// Passf, Failf, Warnf and Skipf build results tersely.
func Passf(msg string) Result { return Result{Status: Pass, Reason: ReasonOK, Message: msg} }

func Failf(reason Reason, phase Phase, msg string) Result {
	return Result{Status: Fail, Reason: reason, FailedPhase: phase, Message: msg}
}

func Warnf(reason Reason, phase Phase, msg string) Result {
	return Result{Status: Warn, Reason: reason, FailedPhase: phase, Message: msg}
}

func Skipf(reason Reason, msg, hint string) Result {
	return Result{Status: Skip, Reason: reason, Message: msg, Hint: hint}
}
