package judge

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// adminRulesUnseen is what the configured view cannot see of an NSG flow:
// the security admin rules of Azure Virtual Network Manager. They are
// evaluated before NSGs, a Deny among them is final, and they show only in
// the effective view (azure-facts §11.1).
const adminRulesUnseen = "security admin rules of Azure Virtual Network Manager, evaluated before NSGs and final when they deny, show only in the effective view"

// configuredNSG keeps a verdict of the configured view to what that view
// sees. A flow the subnet's NSG allows (or that no NSG filters) is not a
// pass but not-observable: an admin rule it cannot see may deny it. A flow
// the NSG denies stays denied, as Azure denies it unless an admin rule
// always allows it. Verdicts of the effective view, which lists the admin
// rules, are left as they are.
func configuredNSG(s *snapshot.Snapshot, res probes.Result, v *view, flows []nsg.Flow, lookFor string) probes.Result {
	if v.kind != ViewConfigured {
		return res
	}
	switch res.Status {
	case probes.Fail, probes.Warn:
		if res.Rule != nil && !res.Rule.Admin {
			res.Message += "; only a security admin rule of Azure Virtual Network Manager with AlwaysAllow, which this view cannot see, would let it through"
		}
		return res
	case probes.Pass:
	default:
		return res
	}
	out := probes.Skipf(probes.ReasonNotObservable,
		"as configured, "+allowedBy(v, flows)+"; whether Azure lets it through is not observable here: "+adminRulesUnseen,
		adminHint(s, lookFor))
	out.Evidence = map[string]any{}
	for k, x := range res.Evidence {
		out.Evidence[k] = x
	}
	out.Evidence["configured_status"] = string(probes.Pass)
	out.Evidence["not_seen"] = "Azure Virtual Network Manager security admin rules"
	if len(v.groups) > 0 {
		out.Evidence["nsg_id"] = v.groups[0].ID
	}
	return out
}

// allowedBy says which rule of the subnet's NSG allows each flow: "the
// subnet's NSG nsg-apim allows Outbound TCP 443 from VirtualNetwork to
// Storage by rule AllowStorage at priority 110".
func allowedBy(v *view, flows []nsg.Flow) string {
	var names []string
	for _, f := range flows {
		names = append(names, f.String())
	}
	if len(v.groups) == 0 {
		return "no NSG is associated with the subnet, so no NSG filters " + strings.Join(names, " and ")
	}
	g := v.groups[0] // the configured view holds the subnet's NSG alone
	parts := make([]string, len(flows))
	for i, f := range flows {
		parts[i] = names[i]
		if d := nsg.Evaluate(g, f).Decisive; d != nil {
			parts[i] += fmt.Sprintf(" by rule %s at priority %d", snapshot.ShortID(d.Name), d.Priority)
		}
	}
	return "the subnet's NSG " + g.Name() + " allows " + strings.Join(parts, ", and ")
}

// adminHint names where the admin rules show: the effective NSGs of a NIC
// in the judged subnet, this VM's in the classic modes; in the v2 modes no
// VM can be in the instance's subnet, and the instance's own network status
// is what shows whether its dependencies are reached.
func adminHint(s *snapshot.Snapshot, lookFor string) string {
	subnet := "the subnet"
	if s.Subnet != nil && s.Subnet.Name != "" {
		subnet = "subnet " + s.Subnet.Name
	}
	if s.JudgesOtherSubnet() {
		r := s.Read(snapshot.ReadNetworkStatus)
		if r == nil {
			id := ""
			if s.APIM != nil {
				id = s.APIM.ID
			}
			r = snapshot.NewInstanceRead(snapshot.ReadNetworkStatus, "", id)
		}
		return fmt.Sprintf("No NIC apimprobe can read is in %s, so no effective view shows its security admin rules: the instance's own network status (`%s`, or the portal's Network status of the instance) shows whether the flow gets through; the subnet's NSG needs %s.",
			subnet, r.CLI, lookFor)
	}
	cli, perm := "az network nic list-effective-nsg -g RG -n NIC", "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"
	if r := s.Read(snapshot.ReadEffectiveNSGs); r != nil && r.CLI != "" {
		cli, perm = r.CLI, r.Permission
	}
	return fmt.Sprintf("Run `%s` for this VM's NIC in %s (it needs %s): its effective rules list the security admin rules beside the NSGs; check that no security admin rule denies the flow, and that there is %s.",
		cli, subnet, perm, lookFor)
}
