package discover

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// expectAllowedUnseen: on the configured view, a flow the subnet's NSG
// allows is not a pass but not-observable, saying which rule allows it and
// what the view cannot see, with the rule kept in the evidence.
func expectAllowedUnseen(t *testing.T, res map[string]probes.Result, id string, contains ...string) {
	t.Helper()
	expect(t, res, id, probes.Skip, probes.ReasonNotObservable,
		append([]string{"as configured, ", "security admin rules of Azure Virtual Network Manager", "show only in the effective view"}, contains...)...)
	ev := res[id].Evidence
	if ev["configured_status"] != string(probes.Pass) || ev["view"] != judge.ViewConfigured || ev["flow"] == nil {
		t.Errorf("%s: evidence %v", id, ev)
	}
}

// A Reader's run (the effective NSGs denied): every flow the configured
// NSG allows is not-observable, never a pass; the one it denies still
// fails, and says what alone could let it through.
func TestConfiguredNSGNeverPasses(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	res := runChecks(t, snapshot.Static{S: s}, o)
	n := 0
	for id, r := range res {
		if !strings.HasPrefix(id, "subnet.nsg.") {
			continue
		}
		if r.Evidence["view"] == judge.ViewConfigured {
			n++
		}
		if r.Status == probes.Pass && r.Evidence["view"] == judge.ViewConfigured {
			t.Errorf("%s passes on the configured view: %s", id, r.Message)
		}
	}
	if n == 0 {
		t.Fatalf("no subnet.nsg.* verdict on the configured view: %v", res)
	}
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-3443",
		"the subnet's NSG nsg-apim allows Inbound TCP 3443 from ApiManagement to VirtualNetwork by rule AllowApimManagement at priority 100",
		"az network nic list-effective-nsg -g rg-apim -n jumpbox-nic", "effectiveNetworkSecurityGroups/action", "subnet snet-apim")
	ev := res["subnet.nsg.inbound-3443"].Evidence
	if id, _ := ev["nsg_id"].(string); !strings.HasSuffix(id, "/networkSecurityGroups/nsg-apim") ||
		!strings.Contains(fmt.Sprint(ev["allowed_by"]), "AllowApimManagement (priority 100, Allow)") {
		t.Errorf("evidence %v", ev)
	}
	r := res["subnet.nsg.inbound-3443"]
	if r.NeedsARM != nil {
		t.Errorf("not-observable for what no read shows, yet NeedsARM %+v", r.NeedsARM)
	}

	// A deny in the subnet's NSG is seen: it fails, as before.
	withConfiguredRule(s, conf, nsg.Rule{Name: "securityRules/DenyMgmt", Priority: 90, Direction: "Inbound", Access: "Deny", Protocol: "*",
		SourcePorts: []string{"*"}, DestinationPorts: []string{"*"}, Sources: []string{"*"}, Destinations: []string{"*"}})
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.inbound-3443", probes.Fail, probes.ReasonNSGRule, "DenyMgmt", "AlwaysAllow", "configured view of subnet snet-apim")
}

// With no NSG on the subnet, nothing of the subnet filters the flow, but
// an admin rule may: not a pass either.
func TestConfiguredNoNSGIsNotAPass(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	sub := *s.Subnet
	sub.NSGID = ""
	s.Subnet = &sub
	conf.SubnetNSG = nil
	res := runChecks(t, snapshot.Static{S: s}, o)
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-storage-443", "no NSG is associated with the subnet, so no NSG filters Outbound TCP 443")
	// Inbound without an NSG is denied by API Management's load balancer.
	expect(t, res, "subnet.nsg.inbound-3443", probes.Fail, probes.ReasonNSGRule, "no NSG is associated")
}

// On the effective view the admin rules are seen: an allow passes.
func TestEffectiveNSGStillPasses(t *testing.T) {
	imds, _ := fakeIMDS(t)
	o := baseOpts(imds.URL, newARM(t, nil))
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.inbound-3443", probes.Pass, probes.ReasonOK, "AllowApimManagement", "effective NSGs")
	if res["subnet.nsg.inbound-3443"].Evidence["view"] != judge.ViewEffective {
		t.Errorf("evidence %v", res["subnet.nsg.inbound-3443"].Evidence)
	}
}
