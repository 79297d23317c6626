package findings

import (
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func backendCheck(id, url string, required bool) probes.Check {
	return probes.Check{ID: id, Kind: probes.KindHTTP, Target: probes.URLTarget(url), Required: required,
		Facets: probes.Facets{Area: probes.AreaBackend, Protocol: probes.ProtoTCP}}
}

func withProbe(o probes.Outcome, a probes.Agreement, status string, issue string) probes.Outcome {
	ip := &probes.InstanceProbe{Protocol: "HTTPS", Destination: o.Check.Target.String(), Region: "westeurope", Status: status,
		Reached: a == probes.AgreeBothReach || a == probes.AgreeVMFails, Agreement: a, Meaning: "meaning of " + string(a)}
	if issue != "" {
		ip.Hops = []probes.ProbeHop{{Type: "Source", Address: "10.1.2.6", Issues: []probes.ProbeIssue{{Type: issue, Origin: "Outbound", Context: map[string]string{"RuleName": "DenyOnPrem"}}}}}
	}
	o.Result.InstanceProbe = ip
	return o
}

var instanceProbeCheck = probes.Check{ID: "instance.probe", Kind: probes.KindAnalysis, Required: true,
	Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceProbe}}

// A destination this VM reaches and the instance does not points to the
// instance's path, once, with instance.probe's failure; required makes it
// blocking.
func TestInstancePathDiffers(t *testing.T) {
	orders := backendCheck("backend.orders-contoso-com-443", "https://orders.contoso.com/", false)
	blob := dialCheck("outbound.storage.blob", "acct.blob.core.windows.net", 443, "Storage", true)
	summary := out(instanceProbeCheck, probes.Failf(probes.ReasonNSGRule, probes.PhaseAnalysis, "the instance reached 1 of 3"))
	fs := diagnose(t,
		withProbe(pass(orders), probes.AgreeInstanceFails, "Disconnected", "NetworkSecurityRule"),
		withProbe(pass(blob), probes.AgreeInstanceFails, "Disconnected", ""),
		summary)
	f := only(t, fs, IDInstancePath)
	if f.Severity != report.SeverityBlocking || !slices.Equal(f.Checks, []string{"instance.probe", "backend.orders-contoso-com-443", "outbound.storage.blob"}) && !slices.Equal(f.Checks, []string{"backend.orders-contoso-com-443", "instance.probe", "outbound.storage.blob"}) {
		t.Errorf("%+v", f)
	}
	if !strings.Contains(f.Cause, "NetworkSecurityRule at Source 10.1.2.6 (RuleName=DenyOnPrem)") || !strings.Contains(f.Cause, "meaning of instance-fails") {
		t.Errorf("cause %q", f.Cause)
	}
	// Optional destinations only: degrading.
	fs = diagnose(t, withProbe(pass(orders), probes.AgreeInstanceFails, "Disconnected", ""))
	if f := only(t, fs, IDInstancePath); f.Severity != report.SeverityDegrading {
		t.Errorf("optional: %s", f.Severity)
	}
}

// Silent without its premise: no instance probe, or one that agrees.
func TestInstancePathSilentWithoutPremise(t *testing.T) {
	orders := backendCheck("backend.orders-contoso-com-443", "https://orders.contoso.com/", false)
	failed := out(orders, probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer"))
	for _, os := range [][]probes.Outcome{
		{pass(orders)},
		{failed},
		{withProbe(pass(orders), probes.AgreeBothReach, "Connected", "")},
		{withProbe(failed, probes.AgreeVMFails, "Connected", "")},
		{withProbe(failed, probes.AgreeNotCompared, "", "")},
	} {
		for _, f := range diagnose(t, os...) {
			if f.ID == IDInstancePath || f.ID == IDBackendUnreachable {
				t.Errorf("%+v fired on %+v", f, os[0].Result.InstanceProbe)
			}
		}
	}
}

// A backend neither side reaches: the backend or the shared route, with
// the instance's issues in the fix.
func TestBackendUnreachableByBoth(t *testing.T) {
	legacy := backendCheck("backend.legacy-contoso-com-443", "https://legacy.contoso.com/", true)
	failed := out(legacy, probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer to TCP SYN"))
	summary := out(instanceProbeCheck, probes.Warnf(probes.ReasonUnreachable, probes.PhaseAnalysis, "the instance reached 2 of 3"))
	f := only(t, diagnose(t, withProbe(failed, probes.AgreeBothFail, "Disconnected", "UserDefinedRoute"), summary), IDBackendUnreachable)
	if f.Severity != report.SeverityBlocking || !slices.Equal(f.Checks, []string{"backend.legacy-contoso-com-443", "instance.probe"}) ||
		!strings.Contains(f.Cause, "timeout in connect") || !strings.Contains(f.Fix.Summary, "UserDefinedRoute at Source 10.1.2.6") {
		t.Errorf("%+v", f)
	}
	bs, _ := f.Evidence["backends"].([]map[string]any)
	if len(bs) != 1 || bs[0]["hops"] == nil {
		t.Errorf("evidence %v", f.Evidence)
	}
	// Without issues the fix names the backend and the shared route.
	f = only(t, diagnose(t, withProbe(failed, probes.AgreeBothFail, "Disconnected", "")), IDBackendUnreachable)
	if !strings.Contains(f.Fix.Summary, "the backend itself") {
		t.Errorf("fix %q", f.Fix.Summary)
	}
}
