package nsg

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Where an effective NSG is associated (Group.Scope).
const (
	ScopeSubnet = "subnet"
	ScopeNIC    = "nic"
)

// AtNIC is a flow this VM sent that the NSG on its own NIC denies and
// nothing else does: API Management's machines are not behind that NIC, so
// the failure is this VM's, not the subnet's.
type AtNIC struct {
	// NIC is the NSG on this VM's NIC, and Verdict its denial (Decisive
	// nil when no rule allowed the flow and its default rules denied it).
	NIC     Group
	Verdict Verdict
	// SubnetAllows says, per NSG associated with the subnet, which rule
	// allows the flow ("nsg-apim allows it by rule …"); empty when no NSG
	// is associated with the subnet.
	SubnetAllows []string
	// Subnet names that subnet in messages: "the subnet" unless set (the
	// caller says "this VM's subnet" when the instance's is another).
	Subnet string
}

// DeniedAtNIC says whether the NSG on this VM's NIC alone denies f, an
// outbound flow from this VM's address: no security admin rule decides it
// (a Deny explains it without the NIC, an AlwaysAllow lets it past every
// NSG), an NSG associated with the NIC denies it, and every NSG associated
// with the subnet allows it. Outbound, Azure evaluates the NIC's NSG before
// the subnet's, so traffic it denies never reaches the subnet's.
func DeniedAtNIC(groups []Group, f Flow) (AtNIC, bool) {
	var nics, subnets []Group
	for _, g := range groups {
		switch {
		case g.IsAdmin():
			if Evaluate(g, f).Final() {
				return AtNIC{}, false
			}
		case g.Scope == ScopeNIC:
			nics = append(nics, g)
		case g.Scope == ScopeSubnet:
			subnets = append(subnets, g)
		}
	}
	var at AtNIC
	found := false
	for _, g := range nics {
		if v := Evaluate(g, f); !v.Allowed {
			at, found = AtNIC{NIC: g, Verdict: v}, true
			break
		}
	}
	if !found {
		return AtNIC{}, false
	}
	for _, g := range subnets {
		v := Evaluate(g, f)
		if !v.Allowed {
			return AtNIC{}, false
		}
		at.SubnetAllows = append(at.SubnetAllows, g.Name()+" allows it by rule "+v.Decisive.String())
	}
	return at, true
}

// Rule is the NIC's deciding rule in probes' typed form, marked as this
// VM's own (NIC).
func (a AtNIC) Rule(f Flow) *probes.RuleSeen {
	rs := ruleSeen(a.NIC, a.Verdict.Decisive, f)
	rs.NIC = true
	return rs
}

// Words says it for a check's message: "rule DenyKeyVault (priority 100,
// Deny) of NSG nsg-jumpbox-nic on this VM's NIC denies Outbound TCP 443
// from 10.1.2.4/32 to 13.69.64.75/32; the subnet's NSG nsg-apim allows it
// by rule AllowKeyVaultRegional (priority 220, Allow)".
func (a AtNIC) Words(f Flow) string {
	what := "no rule of NSG " + a.NIC.Name() + " on this VM's NIC allows " + f.String()
	if d := a.Verdict.Decisive; d != nil {
		what = fmt.Sprintf("rule %s of NSG %s on this VM's NIC denies %s", d, a.NIC.Name(), f)
	}
	if len(a.SubnetAllows) == 0 {
		return what + "; no NSG is associated with " + a.subnet()
	}
	return what + "; " + a.subnet() + "'s NSG " + strings.Join(a.SubnetAllows, ", and NSG ")
}

func (a AtNIC) subnet() string {
	if a.Subnet == "" {
		return "the subnet"
	}
	return a.Subnet
}

// Fix is the change that lets this VM test the flow: an allow rule in
// the NIC's NSG before the rule that denies it.
func (a AtNIC) Fix(f Flow) string {
	prio := ""
	if d := a.Verdict.Decisive; d != nil && d.Priority < 65000 {
		prio = fmt.Sprintf("a priority number below %d", d.Priority)
	}
	return fmt.Sprintf("Add to NSG %s, on this VM's NIC, %s (or run apimprobe from a VM whose NIC has no such rule), then run again: %s's NSGs already allow it, and API Management's machines are not behind this VM's NIC.",
		a.NIC.Name(), ruleToAdd(f, prio), a.subnet())
}
