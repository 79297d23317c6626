package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// The instance's own probe shows beside this VM's verdict: under a pass
// only when the two disagree (the instance cannot reach what this VM
// does), in the table and the Markdown alike.
func TestInstanceProbeBesideTheVerdict(t *testing.T) {
	ip := &probes.InstanceProbe{Protocol: "HTTPS", Destination: "https://orders.contoso.com/", Region: "westeurope", Status: "Disconnected",
		Hops:      []probes.ProbeHop{{Type: "Source", Address: "10.1.2.6", Issues: []probes.ProbeIssue{{Type: "NetworkSecurityRule"}}}},
		Agreement: probes.AgreeInstanceFails, Meaning: "this VM reaches it and the instance does not: the instance's path is not this VM's"}
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Summary: report.Summary{Verdict: report.Degraded},
		Checks: []report.Check{{ID: "backend.orders-contoso-com-443", Category: "Backends", Kind: "http", Target: "https://orders.contoso.com/",
			Status: probes.Pass, Reason: probes.ReasonOK, Message: "reached: HTTP 200", Evidence: map[string]any{"instance_probe": ip}}}}
	for _, format := range []string{"table", "markdown"} {
		var b bytes.Buffer
		if err := Render(&b, format, rep, Options{Width: 200, Verbose: true}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "probe from westeurope: Disconnected, NetworkSecurityRule — this VM reaches it and the instance does not") {
			t.Errorf("%s:\n%s", format, b.String())
		}
	}
	ip.Agreement, ip.Status, ip.Hops = probes.AgreeBothReach, "Connected", nil
	var b bytes.Buffer
	Render(&b, "table", rep, Options{Width: 200, Verbose: true})
	if strings.Contains(b.String(), "probe from") {
		t.Errorf("a pass both sides agree on keeps to one line:\n%s", b.String())
	}
}
