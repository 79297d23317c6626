package nsg

import (
	"strings"
	"testing"
)

// A flow this VM sent is the NIC's failure only when the NIC's NSG denies
// it and nothing else would: the subnet's NSGs allow it and no security
// admin rule decides it.
func TestDeniedAtNIC(t *testing.T) {
	vm := Endpoint{Prefixes: pfx("10.1.2.4/32")}
	kv := Endpoint{Prefixes: pfx("13.69.64.75/32")}
	flow := Flow{Direction: "Outbound", Protocol: "tcp", Port: 443, Source: vm, Destination: kv}
	kvRule := func(r Rule) Rule { r.ExpandedDestinations = pfx("13.69.64.72/29"); return r }
	// The outbound defaults as the effective view expands them.
	defaults := func() []Rule {
		rs := defaults()
		rs[3].ExpandedSources, rs[3].ExpandedDestinations = pfx("10.1.0.0/16"), pfx("10.1.0.0/16")
		rs[4].ExpandedDestinations = pfx("1.0.0.0/8", "13.0.0.0/8", "52.0.0.0/8")
		return rs
	}
	nicDeny := Group{ID: "/x/networkSecurityGroups/nsg-jumpbox-nic", Scope: ScopeNIC, Rules: append([]Rule{
		kvRule(deny("DenyKeyVault", 100, "Outbound", "Tcp", "443", []string{"*"}, []string{"AzureKeyVault"}, nil))}, defaults()...)}
	nicAllow := Group{ID: nicDeny.ID, Scope: ScopeNIC, Rules: defaults()}
	subnetAllow := Group{ID: "/x/networkSecurityGroups/nsg-apim", Scope: ScopeSubnet, Rules: append([]Rule{
		kvRule(allow("AllowKeyVault", 220, "Outbound", "Tcp", "443", []string{"*"}, []string{"AzureKeyVault.WestEurope"}, nil))}, defaults()...)}
	subnetDeny := Group{ID: "/x/networkSecurityGroups/nsg-apim", Scope: ScopeSubnet, Rules: []Rule{
		deny("DenyAllOut", 100, "Outbound", "*", "*", []string{"*"}, []string{"*"}, nil)}}
	admin := func(access string) Group {
		r := kvRule(allow("AdminKV", 10, "Outbound", "Tcp", "443", []string{"*"}, []string{"AzureKeyVault"}, nil))
		r.Access = access
		return Group{ID: "/x/networkManagers/avnm", Scope: ScopeNetworkManager, Rules: []Rule{r}}
	}
	for _, c := range []struct {
		name   string
		groups []Group
		ok     bool
		words  string
	}{
		{"the NIC alone", []Group{subnetAllow, nicDeny}, true, "rule DenyKeyVault (priority 100, Deny) of NSG nsg-jumpbox-nic on this VM's NIC denies Outbound TCP 443 from 10.1.2.4/32 to 13.69.64.75/32; the subnet's NSG nsg-apim allows it by rule AllowKeyVault (priority 220, Allow)"},
		{"no NSG on the subnet", []Group{nicDeny}, true, "no NSG is associated with the subnet"},
		{"an admin Allow leaves it to the NSGs", []Group{admin("Allow"), subnetAllow, nicDeny}, true, "DenyKeyVault"},
		{"the subnet denies too", []Group{subnetDeny, nicDeny}, false, ""},
		{"the NIC allows", []Group{subnetAllow, nicAllow}, false, ""},
		{"no NSG on the NIC", []Group{subnetAllow}, false, ""},
		{"an admin rule denies", []Group{admin("Deny"), subnetAllow, nicDeny}, false, ""},
		{"an admin rule always allows", []Group{admin("AlwaysAllow"), subnetAllow, nicDeny}, false, ""},
	} {
		at, ok := DeniedAtNIC(c.groups, flow)
		if ok != c.ok {
			t.Errorf("%s: ok %v", c.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if w := at.Words(flow); !strings.Contains(w, c.words) {
			t.Errorf("%s: %q lacks %q", c.name, w, c.words)
		}
		rs := at.Rule(flow)
		if !rs.NIC || rs.Admin || rs.Group != "nsg-jumpbox-nic" || rs.Name != "DenyKeyVault" || rs.Priority != 100 || rs.Port != 443 || rs.Destination != "13.69.64.75/32" {
			t.Errorf("%s: rule %+v", c.name, rs)
		}
		if fix := at.Fix(flow); !strings.Contains(fix, "Add to NSG nsg-jumpbox-nic, on this VM's NIC, an outbound rule allowing TCP port 443 from 10.1.2.4/32 to 13.69.64.75/32 with a priority number below 100") {
			t.Errorf("%s: fix %q", c.name, fix)
		}
	}
	// Only its default rules deny it: no priority to beat but the defaults'.
	nicDefault := Group{ID: nicDeny.ID, Scope: ScopeNIC, Rules: []Rule{defaults()[5]}}
	at, ok := DeniedAtNIC([]Group{subnetAllow, nicDefault}, flow)
	if !ok || at.Rule(flow).Name != "DenyAllOutBound" || strings.Contains(at.Fix(flow), "priority") {
		t.Errorf("default deny: %v %+v %q", ok, at.Rule(flow), at.Fix(flow))
	}
}
