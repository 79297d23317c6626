package probes

import (
	"sort"
	"strings"
)

// The instance's own probe of a destination (ConnectivityCheck, run from
// the instance's machines), beside this VM's check of the same
// destination.

// Agreement is how the instance's probe and this VM's check compare.
type Agreement string

const (
	// AgreeBothReach: both connected.
	AgreeBothReach Agreement = "both-reach"
	// AgreeBothFail: neither did: the destination, or the route both share.
	AgreeBothFail Agreement = "both-fail"
	// AgreeInstanceFails: this VM connects and the instance does not: the
	// instance's path is not this VM's.
	AgreeInstanceFails Agreement = "instance-fails"
	// AgreeVMFails: the instance connects and this VM does not: this VM's
	// path is not the instance's.
	AgreeVMFails Agreement = "vm-fails"
	// AgreeNotCompared: one side has no verdict (no answer, a skip).
	AgreeNotCompared Agreement = "not-compared"
)

// Agreements lists the words, for documentation.
func Agreements() []Agreement {
	return []Agreement{AgreeBothReach, AgreeBothFail, AgreeInstanceFails, AgreeVMFails, AgreeNotCompared}
}

// InstanceProbe is what the instance's probe of a check's destination
// said. The report writes it under the evidence key "instance_probe".
type InstanceProbe struct {
	// Protocol is TCP, HTTP or HTTPS; Destination host:port or the URL.
	Protocol    string `json:"protocol"`
	Destination string `json:"destination"`
	// Region is where the instance probed from.
	Region string `json:"region,omitempty"`
	// Status is the instance's connectionStatus (Connected, Disconnected,
	// Degraded, Unknown, Reachable …); empty when it gave no answer, and
	// Error then says why.
	Status       string     `json:"connection_status,omitempty"`
	Reached      bool       `json:"reached"`
	Error        string     `json:"error,omitempty"`
	AvgLatencyMS int64      `json:"avg_latency_ms,omitempty"`
	ProbesSent   int64      `json:"probes_sent,omitempty"`
	ProbesFailed int64      `json:"probes_failed,omitempty"`
	Hops         []ProbeHop `json:"hops,omitempty"`
	// Agreement compares it with this VM's verdict, and Meaning says what
	// that means.
	Agreement Agreement `json:"agreement,omitempty"`
	Meaning   string    `json:"meaning,omitempty"`
}

// ProbeHop is one hop of the instance's path.
type ProbeHop struct {
	Type       string       `json:"type,omitempty"`
	Address    string       `json:"address,omitempty"`
	ResourceID string       `json:"resource_id,omitempty"`
	Issues     []ProbeIssue `json:"issues,omitempty"`
}

// ProbeIssue is what the instance found wrong at a hop.
type ProbeIssue struct {
	Origin   string            `json:"origin,omitempty"`   // Local, Inbound, Outbound
	Severity string            `json:"severity,omitempty"` // Error, Warning
	Type     string            `json:"type,omitempty"`     // NetworkSecurityRule, UserDefinedRoute, DnsResolution …
	Context  map[string]string `json:"context,omitempty"`
}

// Issues lists every hop's issues, in path order.
func (p *InstanceProbe) Issues() []ProbeIssue {
	var out []ProbeIssue
	for _, h := range p.Hops {
		out = append(out, h.Issues...)
	}
	return out
}

// IssueWords names the issues the hops carry, in path order:
// "NetworkSecurityRule at VirtualAppliance 10.0.0.4 (RuleName=Deny…)".
func IssueWords(hops []ProbeHop) []string {
	var out []string
	for _, h := range hops {
		for _, is := range h.Issues {
			w := is.Type
			if w == "" {
				w = "an issue"
			}
			w += " at " + strings.TrimSpace(h.Type+" "+h.Address)
			if len(is.Context) > 0 {
				var kv []string
				for k, v := range is.Context {
					kv = append(kv, k+"="+v)
				}
				sort.Strings(kv)
				w += " (" + strings.Join(kv, ", ") + ")"
			}
			out = append(out, w)
		}
	}
	return out
}
