package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// The rules in this file name what many checks share, or what one check
// alone shows: the network as a whole unreachable, every connection of a
// protocol dropped, and last a failure whose siblings pass. Each fires on
// something observed: an answer the kernel or the network gave (network
// unreachable, a timeout after the name resolved), and what still got
// through beside it.

// onNetwork: the check sends packets of its own (a lookup or a connection).
func onNetwork(c probes.Check) bool { return c.Kind.Dials() || c.Kind == probes.KindDNS }

// silent: a reason that means nothing came back.
func silent(r probes.Reason) bool {
	switch r {
	case probes.ReasonUnreachable, probes.ReasonTimeout, probes.ReasonDNSTimeout, probes.ReasonDeadline, probes.ReasonError:
		return true
	}
	return false
}

// answered: something on the network answered this check: a lookup got a
// reply (any rcode), or a check that sends packets passed or failed on
// what came back (refused, reset, a certificate, an HTTP status).
func answered(o probes.Outcome) bool {
	for _, l := range o.Result.Lookups {
		if l.Outcome != "" && !silent(l.Outcome) {
			return true
		}
	}
	if !onNetwork(o.Check) {
		return false
	}
	r := o.Result
	return r.Status == probes.Pass || (bad(r) && !silent(r.Reason))
}

// noNetworkRule: every destination the run tried, DNS servers and hosts
// alike, failed at once with "network unreachable" and nothing answered
// anything: this VM has no route to anything. Every failure that follows
// from it (names that did not resolve, connections never made) is
// explained here, not by a rule about DNS or one dependency.
func noNetworkRule(in *Input, claimed map[string]bool) []report.Finding {
	var hit []probes.Outcome
	var servers, hosts []string
	for _, o := range in.Outcomes {
		if answered(o) {
			return nil
		}
		r := o.Result
		if claimed[o.Check.ID] || !bad(r) || r.Reason != probes.ReasonUnreachable {
			continue
		}
		hit = append(hit, o)
		for _, l := range r.Lookups {
			if l.Outcome == probes.ReasonUnreachable {
				servers = append(servers, hostOnly(l.Server))
			}
		}
		if h := o.Check.Target.Host; h != "" {
			hosts = append(hosts, h)
		}
	}
	servers, hosts = uniq(servers), uniq(hosts)
	if len(hit) < minNoNetwork || len(servers)+len(hosts) < minNoNetwork {
		return nil
	}
	// The analyses Resource Manager could not be read for follow from it
	// too: no permission would help a VM without a network.
	var unread []probes.Outcome
	for _, o := range in.Outcomes {
		if !claimed[o.Check.ID] && o.Result.Status == probes.Skip && o.Result.NeedsARM != nil {
			unread = append(unread, o)
		}
	}
	also := ""
	if len(unread) > 0 {
		also = fmt.Sprintf(" Resource Manager could not be reached either, so %s could not be judged.", plural(len(ids(unread)), "analysis", "analyses"))
	}
	return []report.Finding{{
		ID: IDNoNetwork, Severity: severityOf(hit),
		Title: "This VM reaches no address: the network is unreachable",
		Cause: fmt.Sprintf("Every destination failed at once with network unreachable (no route) and nothing answered: %s and %s. This VM has no route to anything: its interface is down, it has no default route, or apimprobe runs where there is no network (a container or namespace without one). Every DNS and dependency failure follows from it.%s",
			plural(len(servers), "DNS server", "DNS servers")+" ("+ListOf(servers, 3)+")", plural(len(hosts), "host", "hosts"), also),
		Checks:   ids(append(hit, unread...)),
		Evidence: map[string]any{"dns_servers": servers, "hosts_failing": len(hosts), "hosts": capList(hosts, 10), "analyses_not_judged": len(ids(unread))},
		Fix:      report.Fix{Summary: "Run apimprobe on a VM in the subnet with its network up: `ip address` must show the subnet's address and `ip route` a default route via the subnet's gateway (its first address); restart the VM's networking, or check the NIC in the portal."},
	}}
}

// connectionsDroppedRule: every outbound connection of one protocol that
// was dialled, across service tags, gets no answer once its name resolved,
// and none of that protocol gets through. When every protocol tried fails
// so, the subnet has no way out at all (new VNets have no default outbound
// access since 31 March 2026); when another protocol gets through (NTP
// over UDP beside TCP), something drops the one protocol. Either way the
// evidence says what still works (the names resolved, the other protocol).
func connectionsDroppedRule(in *Input, claimed map[string]bool) []report.Finding {
	protos, dropped, through := droppedProtocols(in, claimed)
	if len(dropped) == 0 {
		return nil
	}
	d := drops{protocols: dropped, through: through}
	for _, name := range dropped {
		d.hit = append(d.hit, protos[name].hit...)
		d.tags = append(d.tags, protos[name].tags...)
	}
	// What else fails for the same reason: the egress echo, the instance's
	// own dependencies probed from here.
	for _, o := range in.Outcomes {
		c := o.Check
		if claimed[c.ID] || !bad(o.Result) || !silentDrop(o.Result) || outbound(o) {
			continue
		}
		if (c.Role == probes.RoleEgressEcho || c.Role == probes.RoleInstanceDeps) && (slices0(dropped, c.Protocol) || c.Protocol == probes.ProtoNone) {
			d.hit = append(d.hit, o)
		}
	}
	d.tags = uniq(d.tags)
	sort.Strings(d.tags)
	d.names = namesOf(d.hit)
	d.ev = map[string]any{"dependencies_failing": len(d.names), "names": capList(d.names, 10), "service_tags": d.tags,
		"protocols": dropped, "names_resolved": len(d.names)}
	d.still = []string{fmt.Sprintf("DNS answers (their %s resolved)", plural(len(d.names), "name", "names"))}
	if len(through) > 0 {
		d.ev["protocols_through"] = through
		d.still = append(d.still, protocolWords(through)+" gets through")
		return []report.Finding{connDropped(in, d)}
	}
	return []report.Finding{noEgress(in, d)}
}

// protoSeen is what the outbound checks of one protocol saw.
type protoSeen struct {
	hit  []probes.Outcome
	tags []string
	got  bool // one of them got an answer
}

// droppedProtocols sorts the protocols of the outbound checks behind
// service tags into those silently dropped (across two tags at least, or
// beside a protocol already dropped) and those that get through.
func droppedProtocols(in *Input, claimed map[string]bool) (protos map[probes.Protocol]*protoSeen, dropped, passing []probes.Protocol) {
	protos = map[probes.Protocol]*protoSeen{}
	for _, o := range in.Outcomes {
		c := o.Check
		if !outbound(o) || c.ServiceTag == "" || c.Protocol == probes.ProtoNone {
			continue
		}
		p := protos[c.Protocol]
		if p == nil {
			p = &protoSeen{}
			protos[c.Protocol] = p
		}
		r := o.Result
		switch {
		case through(r):
			p.got = true
		case bad(r) && silentDrop(r) && !claimed[c.ID]:
			p.hit = append(p.hit, o)
			p.tags = append(p.tags, c.ServiceTag)
		}
	}
	for _, name := range []probes.Protocol{probes.ProtoTCP, probes.ProtoUDP} {
		p := protos[name]
		switch {
		case p == nil:
		case p.got:
			passing = append(passing, name)
		case len(p.hit) >= minNoEgressTargets && len(uniq(p.tags)) >= 2:
			dropped = append(dropped, name)
		case len(p.hit) > 0 && len(dropped) > 0:
			dropped = append(dropped, name) // fails the same way beside a protocol already dropped
		}
	}
	return protos, dropped, passing
}

// drops is what connectionsDroppedRule found: the checks hit, their
// service tags and names, the protocols dropped and those that get
// through, the evidence and what still works.
type drops struct {
	hit                []probes.Outcome
	tags, names, still []string
	protocols, through []probes.Protocol
	ev                 map[string]any
}

// noEgress is the finding when every protocol tried is dropped: the subnet
// has no way out.
func noEgress(in *Input, d drops) report.Finding {
	rg, vnet := vnetOf(in)
	_, seg := resourceID(in.Azure.SubnetID)
	subnet := or(seg["subnets"], "<subnet>")
	return report.Finding{
		ID: IDNoEgress, Severity: severityOf(d.hit),
		Title:    "No Internet egress from the subnet",
		Cause:    fmt.Sprintf("None of the %s outside the VNet answers, all the same silent way, behind %s, while %s: the subnet has no outbound path (new VNets have no default outbound access since 31 March 2026).", plural(len(d.names), "dependency", "dependencies"), plural(len(d.tags), "service tag", "service tags"), ListOf(d.still, 2)),
		Checks:   ids(d.hit),
		Evidence: d.ev,
		Fix: report.Fix{
			Summary: "Give the subnet explicit outbound access: a NAT gateway (or a route to a firewall that allows API Management's dependencies).",
			Commands: []string{
				fmt.Sprintf("az network public-ip create --resource-group %s --name apim-egress-ip --sku Standard", rg),
				fmt.Sprintf("az network nat gateway create --resource-group %s --name apim-egress --public-ip-addresses apim-egress-ip", rg),
				fmt.Sprintf("az network vnet subnet update --resource-group %s --vnet-name %s --name %s --nat-gateway apim-egress", rg, vnet, subnet),
			},
		},
	}
}

// connDropped is the finding when one protocol is dropped and another gets
// through: one rule drops that protocol.
func connDropped(in *Input, d drops) report.Finding {
	rg, _ := vnetOf(in)
	words := protocolWords(d.protocols)
	nsgRG, nseg := resourceID(in.Azure.NSGID)
	return report.Finding{
		ID: IDConnDropped, Severity: severityOf(d.hit),
		Title: "Every outbound " + words + " connection is silently dropped",
		Cause: fmt.Sprintf("All %s connections to %s behind %s (%s) get no answer once their names resolve, while %s: one rule drops all outbound %s from the subnet (an NSG rule that denies it above the allows, this VM's own firewall, or an appliance the route table sends it to), not one per dependency.",
			words, plural(len(d.names), "dependency", "dependencies"), plural(len(d.tags), "service tag", "service tags"), ListOf(d.tags, 4), ListOf(d.still, 2), words),
		Checks:   ids(d.hit),
		Evidence: d.ev,
		Fix: report.Fix{
			Summary: "Find the rule that drops all outbound " + words + ": the subnet's effective NSG rules (a deny above the allows for API Management's service tags), the route table's next hop for 0.0.0.0/0 and that appliance's rules, and this VM's own firewall.",
			Commands: []string{
				fmt.Sprintf("az network nsg rule list --resource-group %s --nsg-name %s --include-default --output table", or(nsgRG, rg), or(nseg["networksecuritygroups"], "<nsg>")),
				fmt.Sprintf("az network nic show-effective-route-table --resource-group %s --name <nic> --output table", rg),
			},
		},
	}
}

func slices0(ps []probes.Protocol, p probes.Protocol) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

func protocolWords(ps []probes.Protocol) string {
	ws := make([]string, len(ps))
	for i, p := range ps {
		ws[i] = strings.ToUpper(string(p))
	}
	return strings.Join(ws, " and ")
}

// aloneRule: a failure no rule above explains, whose siblings pass: other
// checks that send packets get through, another name resolves or a server
// answered its lookup, or it is an analysis, whose judgement is
// of what was read. The cause is this check's own, and the finding says
// so with its words and its fix. A failure among failures of every kind
// is not alone and gets no finding here: it is listed on its own.
func aloneRule(in *Input, claimed map[string]bool) []report.Finding {
	var out []report.Finding
	seen := map[string]bool{}
	for _, o := range in.Outcomes {
		c, r := o.Check, o.Result
		if claimed[c.ID] || seen[c.ID] || !bad(r) || !siblingsPass(in, o) {
			continue
		}
		seen[c.ID] = true
		what := string(r.Reason)
		if r.FailedPhase != probes.PhaseNone && r.FailedPhase != probes.PhaseAnalysis {
			what += " in " + string(r.FailedPhase)
		}
		out = append(out, report.Finding{
			ID: IDAlone, Severity: severityOf([]probes.Outcome{o}),
			Title:    or(c.Title, c.ID) + ": " + what,
			Cause:    r.Message,
			Checks:   []string{c.ID},
			Evidence: map[string]any{"check": c.ID, "reason": r.Reason, "failed_phase": r.FailedPhase},
			Fix:      report.Fix{Summary: or(r.Hint, "See the check's message.")},
		})
	}
	return out
}

// siblingsPass says whether o failed where others like it got through.
func siblingsPass(in *Input, o probes.Outcome) bool {
	c := o.Check
	switch {
	case c.Kind == probes.KindAnalysis:
		return true
	case c.Kind == probes.KindDNS:
		for _, l := range o.Result.Lookups {
			if l.Outcome != "" && !silent(l.Outcome) {
				return true
			}
		}
		for _, x := range in.Outcomes {
			if x.Check.Kind == probes.KindDNS && x.Check.ID != c.ID && x.Result.Status == probes.Pass {
				return true
			}
		}
	case c.Kind.Dials():
		for _, x := range in.Outcomes {
			if onNetwork(x.Check) && x.Check.ID != c.ID && x.Result.Status == probes.Pass {
				return true
			}
		}
	}
	return false
}
