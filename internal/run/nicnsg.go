package run

import (
	"net/netip"

	azjudge "github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The NSG on this VM's own NIC filters this VM's probes and not API
// Management's machines (issue 18, item 5). A probe that got no answer for
// a flow that NSG alone denies — the subnet's NSGs allow it and no security
// admin rule decides it — failed for this VM's reason, not the subnet's.

// annotateNICNSG marks every check of this VM's that got no answer (a
// silent drop in connect) for a flow the NSG on this VM's NIC alone denies:
// the check's message says the failure is this VM's, its hint is the rule
// that lets this VM test the flow, and its Rule is the NIC's (typed, NIC
// set) for the diagnosis. On the effective view, which lists the admin
// rules too, such a failure does not block the instance: it is a warning,
// unless the instance itself reports the same dependency failing. On the
// configured view (azjudge.ThisVMGroups) an admin rule it cannot see might
// deny the instance as well: the failure stands unless the instance itself
// reports the dependency reached.
func annotateNICNSG(outs []probes.Outcome, s *snapshot.Snapshot) {
	groups, configured := azjudge.ThisVMGroups(s)
	if groups == nil {
		return
	}
	src, err := netip.ParseAddr(s.NICPrivateIP)
	if err != nil {
		return
	}
	for i := range outs {
		o := &outs[i]
		f, ok := nicFlow(o.Check, o.Result, src)
		if !ok {
			continue
		}
		at, ok := nsg.DeniedAtNIC(groups, f)
		if !ok {
			continue
		}
		switch {
		case configured && s.InstanceSubnet:
			at.Subnet = "the instance's subnet"
		case s.InstanceSubnet:
			// The effective view's subnet is this VM's; the instance's
			// is judged by the subnet.nsg.* checks on its configured view.
			at.Subnet = "this VM's subnet"
		}
		r := &o.Result
		r.Rule = at.Rule(f)
		r.Hint = at.Fix(f)
		if r.Evidence == nil {
			r.Evidence = map[string]any{}
		}
		r.Evidence["nic_nsg"] = map[string]any{"nsg": at.NIC.Name(), "nsg_id": at.NIC.ID, "rule": r.Rule.Name,
			"priority": r.Rule.Priority, "flow": f.String(), "subnet_allows": at.SubnetAllows, "configured_view": configured}
		words := at.Words(f)
		if configured {
			words += " (as configured: Virtual Network Manager's security admin rules are not in the configured view)"
		}
		switch {
		case anyFailure(r.Instance):
			r.Message += " [" + words + "; the instance itself reports this dependency failing too, so the failure stands]"
		case configured && !allSuccess(r.Instance):
			r.Message += " [this VM's own NIC explains the failure: " + words + "; whether the instance gets through is not observable without the effective view, so the failure stands]"
		default:
			r.Message += " [the failure is this VM's, not the subnet's: " + words + "; API Management's machines are not behind this VM's NIC]"
			if r.Status == probes.Fail {
				r.Status = probes.Warn
			}
		}
	}
}

// nicFlow is the outbound flow a failed check of this VM's sent: from this
// VM's address to the address and port it dialled, over its kind's
// transport. ok is false for anything but a silent drop in connect.
func nicFlow(c probes.Check, r probes.Result, src netip.Addr) (nsg.Flow, bool) {
	if !c.Kind.Dials() || (r.Status != probes.Fail && r.Status != probes.Warn) || r.FailedPhase != probes.PhaseConnect ||
		(r.Reason != probes.ReasonTimeout && r.Reason != probes.ReasonUnreachable) {
		return nsg.Flow{}, false
	}
	proto := c.Kind.Spec().Protocol
	dst, err := netip.ParseAddrPort(r.Dialled)
	if err != nil || proto == probes.ProtoNone {
		return nsg.Flow{}, false
	}
	host := func(a netip.Addr) nsg.Endpoint {
		a = a.Unmap()
		return nsg.Endpoint{Prefixes: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}}
	}
	return nsg.Flow{Direction: "Outbound", Protocol: string(proto), Port: int(dst.Port()),
		Source: host(src), Destination: host(dst.Addr())}, true
}
