// Package probes holds apimprobe's unit of work — a Check, the Probe it runs
// and the Result it produces — together with one file per probe kind (tcp.go,
// tls.go, http.go), the single place that turns Go errors into SPEC's reason
// words (classify.go), and the concurrent runner (runner.go).
package probes

import (
	"context"
	"strconv"
	"time"
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
	// Evidence is what the check saw, for the report only: no package reads
	// another's keys. What other packages read is in the typed fields below.
	Evidence map[string]any
	Duration time.Duration

	// Dialled is the address:port the check connected to.
	Dialled string
	// Cert is what a completed TLS handshake presented; nil without one.
	Cert *CertSeen
	// Appliance is a private router found on the path (path checks).
	Appliance string
	// EgressIP is where Internet-bound traffic left from (the egress echo).
	EgressIP string
	// Lookups is every DNS server's view of the check's name (DNS checks,
	// and the resolve phase of checks that dial); nil without a comparison.
	// The report carries the same under the evidence key "dns" or
	// "resolvers", so EvidenceMap does not write it again.
	Lookups []Lookup
	// Rule is the security rule that decided a flow (NSG analyses); nil
	// when no rule did. The evidence has it in words.
	Rule *RuleSeen
	// NeedsARM says which Resource Manager read a not-observable skip
	// lacked; nil otherwise.
	NeedsARM *ARMNeed
	// Instance is what the deployed instance itself reports for the same
	// dependency (its NetworkStatus), one entry per location that has a
	// matching row; nil when none does. The report writes it under the
	// evidence key "instance_status".
	Instance []InstanceStatus
	// InstanceProbe is what the instance's own probe (ConnectivityCheck)
	// said of the same destination, and how it compares with this
	// check's verdict; nil when the instance was not asked. The report
	// writes it under the evidence key "instance_probe".
	InstanceProbe *InstanceProbe
}

// InstanceStatus is one row of the instance's NetworkStatus: Azure's own
// probe of a dependency from the instance's machines, refreshed every 15
// minutes.
type InstanceStatus struct {
	Location     string `json:"location"`
	Name         string `json:"name"`
	ResourceType string `json:"resource_type,omitempty"`
	// Status is initializing, success or failure.
	Status           string    `json:"status"`
	Error            string    `json:"error,omitempty"`
	LastUpdated      time.Time `json:"last_updated,omitzero"`
	LastStatusChange time.Time `json:"last_status_change,omitzero"`
	Optional         bool      `json:"optional"`
}

// Lookup is one DNS server's answer for a name.
type Lookup struct {
	// Server is the address:port asked.
	Server string
	// Azure marks Azure DNS (168.63.129.16) as opposed to a VNet's server.
	Azure bool
	// Outcome is SPEC's word for what it said: ok, nxdomain, servfail,
	// no-answer, dns-timeout, ...
	Outcome Reason
	// Addrs are the addresses it answered.
	Addrs []string
}

// RuleSeen is the NSG or security admin rule that decided one flow.
type RuleSeen struct {
	// Admin: a security admin rule of Azure Virtual Network Manager; Group
	// is then the network manager's name, else the NSG's.
	Admin bool
	// NIC: a rule of the NSG on this VM's own NIC, which filters this
	// VM's traffic and not API Management's machines'.
	NIC bool
	// GroupID is the NSG's (or network manager's) resource id when known.
	GroupID, Group string
	// Name is the rule's name; empty when no rule allowed the flow and the
	// default rules denied it.
	Name     string
	Priority int
	Access   string
	// The flow: direction, protocol, port, and its ends as a service tag
	// or "*".
	Direction, Protocol string
	Port                int
	Source, Destination string
}

// ARMNeed is a Resource Manager read that a check needed and did not get.
type ARMNeed struct {
	// Why Resource Manager was not read or the read failed, in words.
	Why string
	// Permission is the Azure RBAC action that the read needs.
	Permission string
	// Command is the az command a person can run instead.
	Command string
	// Disabled: Resource Manager was not used at all (--no-arm, or no
	// token), as opposed to one read being denied or failing.
	Disabled bool
	// NoToken names the credential that gave no token
	// ("managed-identity", "azure-cli", "default"); "" when one was had
	// or none was asked.
	NoToken string
	// NoAnswer is what the requests got instead of an answer when
	// Unreachable is set: "no answer from Resource Manager (timeout): …".
	NoAnswer string
	// Unreachable is Resource Manager's host and port in words
	// ("management.azure.com on TCP 443") when the read got no answer from
	// it at all (DNS, TCP or TLS failed on the way); "" otherwise.
	Unreachable string
	// Rejected is Resource Manager's error code when it refused the token
	// itself (HTTP 401: InvalidAuthenticationTokenTenant, …Audience,
	// ExpiredAuthenticationToken): no role assignment fixes that, TokenFix
	// does.
	Rejected, TokenFix string
	// RoleActions is every action apimprobe uses on Resource Manager: a
	// custom role proposed to grant Permission holds them all, so that the
	// next run does not stop at the next missing one.
	RoleActions []string
}

// CertSeen is the certificate chain a TLS handshake presented and how it
// was judged.
type CertSeen struct {
	Version  string
	Subject  string
	Issuer   string
	SANs     []string
	NotAfter time.Time
	// Root is the root this machine's trust store verified the chain to, and
	// RootSHA256 its fingerprint; empty when the chain is not trusted here.
	Root, RootSHA256 string
	// Intercepted: trusted here, but not leading to a genuine Azure root.
	Intercepted bool

	// sanTotal is how many names the certificate has (SANs keeps 64).
	sanTotal int
}

// passingSANs is how many of a certificate's names a passing (or skipped)
// check's evidence lists, the rest counted ("… N more"): a front door's
// certificate names hundreds of hosts, and a passing check's evidence
// needs only to show which certificate it was. A failing or warning check
// lists up to 64: the names may be why it failed.
const passingSANs = 8

// sans is the tls_sans evidence of a check of status st.
func (c *CertSeen) sans(st Status) []string {
	total := max(c.sanTotal, len(c.SANs))
	if st == Fail || st == Warn || total <= passingSANs || len(c.SANs) <= passingSANs {
		return c.SANs
	}
	return append(c.SANs[:passingSANs:passingSANs], "… "+strconv.Itoa(total-passingSANs)+" more")
}

// EvidenceMap is the check's evidence as the report writes it: the free-form
// evidence and the typed fields under their report keys.
func (r Result) EvidenceMap() map[string]any {
	if r.Evidence == nil && r.Dialled == "" && r.Cert == nil && r.Appliance == "" && r.EgressIP == "" && len(r.Instance) == 0 && r.InstanceProbe == nil {
		return nil
	}
	ev := make(map[string]any, len(r.Evidence)+8)
	for k, v := range r.Evidence {
		ev[k] = v
	}
	if r.Dialled != "" {
		ev["dialled"] = r.Dialled
	}
	if r.Appliance != "" {
		ev["appliance"] = r.Appliance
	}
	if r.EgressIP != "" {
		ev["egress_ip"] = r.EgressIP
	}
	if len(r.Instance) > 0 {
		ev["instance_status"] = r.Instance
	}
	if r.InstanceProbe != nil {
		ev["instance_probe"] = r.InstanceProbe
	}
	if c := r.Cert; c != nil {
		ev["tls_version"] = c.Version
		ev["tls_subject"] = c.Subject
		ev["tls_issuer"] = c.Issuer
		ev["tls_sans"] = c.sans(r.Status)
		ev["tls_not_after"] = c.NotAfter.UTC().Format(time.RFC3339)
		if c.Root != "" {
			ev["tls_root"] = c.Root
			ev["tls_root_sha256"] = c.RootSHA256
			ev["tls_intercepted"] = c.Intercepted
		}
	}
	return ev
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
	Required bool
	Kind     Kind
	Target   Target
	// Facets are what the diagnosis and the outputs select on (facets.go).
	Facets
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
	// Summary, when set instead of Probe, is an analysis of the other
	// checks' outcomes: the runner makes it once they have all finished.
	Summary func([]Outcome) Result
	// UntilDeadline marks a probe that only waits for what discovery reads
	// in the background (Resource Manager's long-running reads take 10 s
	// and more, longer than one check's --timeout) and then analyses it:
	// the runner gives it the run's deadline instead of --timeout, and it
	// holds none of the --concurrency slots, which are for network work.
	UntilDeadline bool
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
