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
	n := newNICJudge(s)
	if n == nil {
		return
	}
	for i := range outs {
		o := &outs[i]
		r := &o.Result
		at, f, ok := n.denied(o.Check.Kind.Spec().Protocol, *r)
		if !ok {
			continue
		}
		r.Rule = at.Rule(f)
		r.Hint = at.Fix(f)
		if r.Evidence == nil {
			r.Evidence = map[string]any{}
		}
		r.Evidence["nic_nsg"] = map[string]any{"nsg": at.NIC.Name(), "nsg_id": at.NIC.ID, "rule": r.Rule.Name,
			"priority": r.Rule.Priority, "flow": f.String(), "subnet_allows": at.SubnetAllows, "configured_view": n.configured}
		words, warn := n.words(at, f, r.Instance)
		r.Message += words
		if warn && r.Status == probes.Fail {
			r.Status = probes.Warn
		}
	}
}

// annotateNICDeps does for the hosts of the instance's dependency list,
// which instance.dependencies probes inside one check, what annotateNICNSG
// does for the catalogue's checks, and judges that check again from them.
func annotateNICDeps(outs []probes.Outcome, s *snapshot.Snapshot, ir *instanceRun) {
	n := newNICJudge(s)
	if n == nil || ir == nil {
		return
	}
	ir.mu.Lock()
	defer ir.mu.Unlock()
	changed := false
	for i := range ir.deps {
		d := &ir.deps[i]
		at, f, ok := n.denied(probes.ProtoTCP, probes.Result{Status: d.Status, Reason: d.Reason, FailedPhase: d.Phase, Dialled: d.Dialled})
		if !ok {
			continue
		}
		words, warn := n.words(at, f, d.Instance)
		d.Message += words
		d.rule, d.fix = at.Rule(f), at.Fix(f)
		if warn && d.Status == probes.Fail {
			d.Status = probes.Warn
		}
		changed = true
	}
	if !changed || ir.judged == nil {
		return
	}
	for i := range outs {
		if o := &outs[i]; o.Check.Role == probes.RoleInstanceDeps {
			took := o.Result.Duration
			o.Result = ir.judged(ir.deps)
			o.Result.Duration = took
		}
	}
}

// nicParts are the hosts of the instance's dependency list that the NSG on
// this VM's NIC denied, each as an outcome of instance.dependencies with
// that rule: the NIC's finding names them with the catalogue's checks. all:
// every host that failed or warned was denied so (the check has no other
// cause).
func nicParts(deps []depSeen) (parts []probes.Outcome, all bool) {
	return explainedParts(deps, probes.KindTCP, func(d depSeen, r *probes.Result) bool {
		r.Rule = d.rule
		return d.rule != nil
	})
}

// nicJudge holds what decides this VM's own flows: the NSGs (effective, or
// configured) and this VM's address.
type nicJudge struct {
	groups         []nsg.Group
	configured     bool
	instanceSubnet bool
	src            netip.Addr
}

func newNICJudge(s *snapshot.Snapshot) *nicJudge {
	groups, configured := azjudge.ThisVMGroups(s)
	if groups == nil {
		return nil
	}
	src, err := netip.ParseAddr(s.NICPrivateIP)
	if err != nil {
		return nil
	}
	return &nicJudge{groups: groups, configured: configured, instanceSubnet: s.InstanceSubnet, src: src}
}

// denied says whether the NSG on this VM's NIC alone denies the flow of a
// result that got no answer.
func (n *nicJudge) denied(proto probes.Protocol, r probes.Result) (nsg.AtNIC, nsg.Flow, bool) {
	f, ok := nicFlow(proto, r, n.src)
	if !ok {
		return nsg.AtNIC{}, f, false
	}
	at, ok := nsg.DeniedAtNIC(n.groups, f)
	if !ok {
		return at, f, false
	}
	switch {
	case n.configured && n.instanceSubnet:
		at.Subnet = "the instance's subnet"
	case n.instanceSubnet:
		// The effective view's subnet is this VM's; the instance's is
		// judged by the subnet.nsg.* checks on its configured view.
		at.Subnet = "this VM's subnet"
	}
	return at, f, true
}

// words is what a message adds for a flow the NIC denied, and warn whether
// the failure no longer blocks the instance: on the effective view unless
// the instance itself reports the dependency failing, on the configured
// view only when the instance reports it reached.
func (n *nicJudge) words(at nsg.AtNIC, f nsg.Flow, inst []probes.InstanceStatus) (string, bool) {
	w := at.Words(f)
	if n.configured {
		w += " (as configured: Virtual Network Manager's security admin rules are not in the configured view)"
	}
	switch {
	case anyFailure(inst):
		return " [" + w + "; the instance itself reports this dependency failing too, so the failure stands]", false
	case n.configured && !allSuccess(inst):
		return " [this VM's own NIC explains the failure: " + w + "; whether the instance gets through is not observable without the effective view, so the failure stands]", false
	}
	return " [the failure is this VM's, not the subnet's: " + w + "; API Management's machines are not behind this VM's NIC]", true
}

// nicFlow is the outbound flow a failed probe of this VM's sent: from this
// VM's address to the address and port it dialled, over its transport. ok
// is false for anything but a silent drop in connect.
func nicFlow(proto probes.Protocol, r probes.Result, src netip.Addr) (nsg.Flow, bool) {
	if (r.Status != probes.Fail && r.Status != probes.Warn) || r.FailedPhase != probes.PhaseConnect ||
		(r.Reason != probes.ReasonTimeout && r.Reason != probes.ReasonUnreachable) {
		return nsg.Flow{}, false
	}
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
