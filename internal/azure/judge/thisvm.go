package judge

import (
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// ThisVMGroups are the NSGs that decide a flow this VM sends, for telling
// its probes' failures apart from the subnet's (the NSG on this VM's own
// NIC filters this VM's traffic, not API Management's machines').
//
// From the effective view when Resource Manager gave it: every group it
// lists (the subnet's, the NIC's, the security admin rules); configured is
// false. Else from the configured view: the NSG on this VM's NIC and the
// judged subnet's NSG, their tags expanded as the configured analyses
// expand them; configured is true, as Virtual Network Manager's admin
// rules are not in that view. nil when no NSG on this VM's NIC is known,
// or when the configured view cannot decide a flow: the subnet's NSG was
// not read, or part of the VirtualNetwork tag is unknown.
func ThisVMGroups(s *snapshot.Snapshot) (groups []nsg.Group, configured bool) {
	if s == nil {
		return nil, false
	}
	if s.Read(snapshot.ReadEffectiveNSGs).OK() {
		return s.NSGs, false
	}
	c := s.Configured
	if c == nil || c.NICNSG == nil || s.Subnet == nil || (s.Subnet.NSGID != "" && c.SubnetNSG == nil) {
		return nil, false
	}
	t := vnetTagOf(s)
	if len(t.unknown) > 0 {
		return nil, false
	}
	groups = []nsg.Group{expandGroup(s, *c.NICNSG, t.known)}
	if c.SubnetNSG != nil {
		groups = append(groups, expandGroup(s, *c.SubnetNSG, t.known))
	}
	return groups, true
}
