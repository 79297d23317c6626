package report

import (
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func TestVerdictAndExitCode(t *testing.T) {
	c := func(s probes.Status, required bool) Check { return Check{Status: s, Required: required} }
	for _, tc := range []struct {
		name          string
		checks        []Check
		verdict       string
		exit, strictX int
	}{
		{"all pass and skip", []Check{c(probes.Pass, true), c(probes.Skip, true)}, Ready, 0, 0},
		{"optional fails", []Check{c(probes.Pass, true), c(probes.Fail, false)}, Degraded, 0, 1},
		{"a warning", []Check{c(probes.Warn, true)}, Degraded, 0, 1},
		{"required fails", []Check{c(probes.Fail, true), c(probes.Warn, false)}, Blocked, 1, 1},
		{"nothing at all", nil, Ready, 0, 0},
	} {
		r := Report{Checks: tc.checks}
		r.Summary = Summarize(r.Checks)
		if r.Summary.Verdict != tc.verdict || r.ExitCode(false) != tc.exit || r.ExitCode(true) != tc.strictX {
			t.Errorf("%s: %s exit %d/%d, want %s %d/%d", tc.name, r.Summary.Verdict, r.ExitCode(false), r.ExitCode(true), tc.verdict, tc.exit, tc.strictX)
		}
	}
}

func TestFromOutcomesSortsAndKeepsPhaseOnlyOnFailures(t *testing.T) {
	var r Report
	r.FromOutcomes([]probes.Outcome{
		{Check: probes.Check{ID: "outbound.sql", Required: true}, Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseConnect}},
		{Check: probes.Check{ID: "dns.gateway"}, Result: probes.Result{Status: probes.Pass, Reason: probes.ReasonOK, FailedPhase: probes.PhaseDNS}},
	})
	if r.Checks[0].ID != "dns.gateway" || r.Checks[1].ID != "outbound.sql" {
		t.Fatalf("order %s, %s", r.Checks[0].ID, r.Checks[1].ID)
	}
	if r.Checks[0].FailedPhase != "" || r.Checks[1].FailedPhase != probes.PhaseConnect {
		t.Fatalf("failed_phase %q / %q", r.Checks[0].FailedPhase, r.Checks[1].FailedPhase)
	}
	if r.Summary.Verdict != Blocked || r.Summary.Fail != 1 || r.Summary.Pass != 1 {
		t.Fatalf("summary %+v", r.Summary)
	}
}
