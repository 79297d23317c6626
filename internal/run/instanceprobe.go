package run

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/azure/instanceview"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/probes"
)

// The instance's own probe beside this VM's (--instance-probe, azure-facts
// §5, §12.12). instance.probe asks the instance, through Resource Manager,
// to run ConnectivityCheck from its region to each required dependency
// (TCP) and each backend (HTTPS or HTTP as its URL says), all at once
// within the run's deadline; the discovered backends join once
// backend.discovered has listed them. Each check whose destination the
// instance probed then carries the instance's answer beside its own
// verdict (evidence.instance_probe), with how the two compare.

const (
	idInstanceProbe = "instance.probe"
	// probeCalls bounds the ConnectivityCheck calls in flight: each is a
	// long-running operation on Resource Manager, which throttles.
	probeCalls      = 16
	docConnectivity = "github.com/Azure/azure-rest-api-specs apimanagement 2024-05-01 apimconnectivitycheck.json (PerformConnectivityCheckAsync)"
)

// Connectivity asks the instance to probe one destination.
type Connectivity interface {
	ConnectivityCheck(ctx context.Context, req instanceview.ConnectivityRequest) instanceview.Connectivity
}

var _ Connectivity = (*azdiscover.Discovery)(nil)

// instanceProbes carries what the instance said, by check id, to the
// annotation after the run.
type instanceProbes struct {
	mu  sync.Mutex
	got map[string]*probes.InstanceProbe
}

func (p *instanceProbes) put(id string, ip *probes.InstanceProbe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got == nil {
		p.got = map[string]*probes.InstanceProbe{}
	}
	p.got[id] = ip
}

func (p *instanceProbes) get(id string) *probes.InstanceProbe {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[id]
}

// destination is one check's destination as the instance is asked it.
type destination struct {
	id       string
	required bool
	req      instanceview.ConnectivityRequest
}

func (d destination) String() string {
	if d.req.Protocol == "TCP" {
		return net.JoinHostPort(d.req.Address, strconv.Itoa(d.req.Port))
	}
	return d.req.Address
}

// destinationOf is what the instance is asked for a check: TCP to a
// required dependency, HTTPS or HTTP to a backend; false for any other
// check (optional dependencies, UDP, analyses, skips).
func destinationOf(c probes.Check) (destination, bool) {
	if c.Probe == nil || c.Target.Host == "" || c.Target.Port <= 0 || c.Protocol != probes.ProtoTCP {
		return destination{}, false
	}
	switch c.Area {
	case probes.AreaOutbound:
		if !c.Required {
			return destination{}, false
		}
		return destination{id: c.ID, required: true, req: instanceview.ConnectivityRequest{Address: c.Target.Host, Port: c.Target.Port, Protocol: "TCP"}}, true
	case probes.AreaBackend:
		proto := "HTTPS"
		if strings.HasPrefix(c.Target.URL, "http://") {
			proto = "HTTP"
		}
		return destination{id: c.ID, required: c.Required, req: instanceview.ConnectivityRequest{Address: c.Target.URL, Port: c.Target.Port, Protocol: proto}}, true
	}
	return destination{}, false
}

// instanceProbeCheck is instance.probe, made only with --instance-probe.
// checks are the run's others, whose destinations it asks for.
func (w world) instanceProbeCheck(checks []probes.Check) []probes.Check {
	if !w.cfg.InstanceProbe {
		return nil
	}
	var dests []destination
	for _, c := range catalog.Select(checks, w.cfg.Only, w.cfg.Skip) {
		if d, ok := destinationOf(c); ok {
			dests = append(dests, d)
		}
	}
	ch := probes.Check{
		ID: idInstanceProbe, Title: "The instance's own probe of each required dependency and backend (ConnectivityCheck)",
		Category: categoryInstance, Required: true, Kind: probes.KindAnalysis, Source: docConnectivity, UntilDeadline: true,
		Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceProbe, Phase: probes.DeployPost},
		Target: probes.Subject(fmt.Sprintf("ConnectivityCheck: %d long-running POSTs (one per destination) + one per discovered backend", len(dests))),
		Why: "the instance connects from its own machines in its region; where it and this VM disagree, their paths differ (the instance's subnet, NSG, routes). " +
			"Each call is a long-running operation on Resource Manager and an action the identity must be allowed. Destinations: " + destinationList(dests),
	}
	if pre := w.instanceSkip(); pre != nil {
		ch.Preset = pre
		return []probes.Check{ch}
	}
	ch.Probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
		if w.connectivity == nil {
			r := probes.Skipf(probes.ReasonNotObservable, "Resource Manager was not consulted", "")
			return r
		}
		seen := map[string]bool{}
		for _, d := range dests {
			seen[d.id] = true
		}
		var mu sync.Mutex
		var all []destination
		answers := map[string]instanceview.Connectivity{}
		var wg sync.WaitGroup
		sem := make(chan struct{}, probeCalls)
		ask := func(ds []destination) {
			for _, d := range ds {
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
				wg.Go(func() {
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						return
					}
					defer func() { <-sem }()
					c := w.connectivity.ConnectivityCheck(ctx, d.req)
					mu.Lock()
					answers[d.id] = c
					mu.Unlock()
					w.iprobe.put(d.id, seenOfConnectivity(d, c))
				})
			}
		}
		ask(dests)
		// The backends backend.discovered probes join once it has listed
		// them.
		select {
		case <-w.discovered.finished():
			var more []destination
			for _, o := range w.discovered.outcomes() {
				if d, ok := destinationOf(o.Check); ok && !seen[d.id] {
					more = append(more, d)
				}
			}
			ask(more)
		case <-ctx.Done():
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return instanceProbeResult(ctx, all, answers)
	})
	return []probes.Check{ch}
}

func destinationList(ds []destination) string {
	if len(ds) == 0 {
		return "none known before the run"
	}
	var ss []string
	for _, d := range ds {
		ss = append(ss, d.req.Protocol+" "+d.String())
	}
	return strings.Join(ss, ", ")
}

// seenOfConnectivity is the instance's answer in probes' typed form.
func seenOfConnectivity(d destination, c instanceview.Connectivity) *probes.InstanceProbe {
	ip := &probes.InstanceProbe{Protocol: d.req.Protocol, Destination: d.String(), Region: c.Region, Status: c.Status,
		Reached: c.Reached(), AvgLatencyMS: c.AvgLatencyMS, ProbesSent: c.ProbesSent, ProbesFailed: c.ProbesFailed, Hops: c.Hops}
	if c.Failure != nil {
		ip.Error = c.Failure.Message
	}
	return ip
}

// instanceProbeResult is the instance's own verdict: fail when it cannot
// reach a required destination, warn when only optional ones, pass when it
// reaches them all; not observable when no call got an answer.
func instanceProbeResult(ctx context.Context, all []destination, answers map[string]instanceview.Connectivity) probes.Result {
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	a := tallyAnswers(all, answers)
	ev := map[string]any{"asked": len(all), "reached": orEmpty(a.reached), "unreached": orEmpty(a.unreached)}
	if len(a.noAnswer) > 0 {
		ev["no_answer"] = a.noAnswer
	}
	if len(all) == 0 {
		return probes.Skipf(probes.ReasonNoData, "no required dependency or backend to ask the instance about", "")
	}
	var r probes.Result
	if len(a.reached)+len(a.unreached) == 0 {
		r = a.unanswered(ctx)
	} else {
		r = a.answered(ctx, len(all))
	}
	r.Evidence = ev
	return r
}

// instanceAnswers sorts the destinations by what the instance's
// ConnectivityCheck said of each.
type instanceAnswers struct {
	reached, unreached, unreachedReq, noAnswer []string
	denied                                     *snapshot.Read // a call Resource Manager refused
	nsg                                        bool           // an NSG rule is among the issues
}

func tallyAnswers(all []destination, answers map[string]instanceview.Connectivity) instanceAnswers {
	var a instanceAnswers
	for _, d := range all {
		c, ok := answers[d.id]
		switch {
		case !ok:
			a.noAnswer = append(a.noAnswer, d.id+" (not asked before the deadline)")
		case c.Failure != nil:
			a.noAnswer = append(a.noAnswer, d.id+" ("+c.Failure.Message+")")
			if c.Failure.Status == snapshot.ReadDenied {
				a.denied = c.Failure
			}
		case c.Reached():
			a.reached = append(a.reached, d.id)
		case c.Unreached():
			words := d.id + " (" + c.Status + issuesWords(c.Hops) + ")"
			a.unreached = append(a.unreached, words)
			if d.required {
				a.unreachedReq = append(a.unreachedReq, words)
			}
			for _, h := range c.Hops {
				for _, is := range h.Issues {
					a.nsg = a.nsg || is.Type == "NetworkSecurityRule"
				}
			}
		default:
			a.noAnswer = append(a.noAnswer, d.id+" (connectionStatus "+nonEmpty(c.Status, "empty")+")")
		}
	}
	return a
}

// unanswered is the result when no destination got an answer: the
// deadline came first, or the instance was not asked (with the permission
// it takes).
func (a instanceAnswers) unanswered(ctx context.Context) probes.Result {
	if errors.Is(context.Cause(ctx), probes.ErrRunDeadline) {
		r := probes.Failf(probes.ReasonDeadline, probes.PhaseAnalysis, "the run's --deadline came before the instance answered any ConnectivityCheck")
		r.Hint = "ConnectivityCheck takes tens of seconds on Azure: raise --deadline (120s) with --instance-probe."
		return r
	}
	msg := "the instance was not asked: " + a.noAnswer[0]
	hint := "Allow " + instanceview.ConnectivityAction + " to this VM's identity, or make the same call (`az rest --method post --url INSTANCE_ID/connectivityCheck?api-version=2024-05-01 --body …`) as an identity that may."
	r := probes.Skipf(probes.ReasonNotObservable, msg, hint)
	if a.denied != nil && strings.HasPrefix(a.denied.Permission, "Microsoft.") {
		r.NeedsARM = &probes.ARMNeed{Why: a.denied.Message, Permission: a.denied.Permission, Command: a.denied.CLI}
		r.Hint = "Allow " + a.denied.Permission + " to this VM's identity (Reader does not include it), or make the same call (`" + a.denied.CLI + "`) as an identity that may."
	}
	return r
}

// answered is the instance's verdict over the destinations it answered
// for: fail for a required one unreached, warn for an optional one.
func (a instanceAnswers) answered(ctx context.Context, asked int) probes.Result {
	msg := fmt.Sprintf("the instance reached %d of %d destinations", len(a.reached), asked)
	if len(a.unreached) > 0 {
		msg += "; not: " + strings.Join(a.unreached, "; ")
	}
	if len(a.noAnswer) > 0 {
		msg += "; no answer for " + strings.Join(a.noAnswer, "; ")
	}
	reason := probes.ReasonUnreachable
	if a.nsg {
		reason = probes.ReasonNSGRule
	}
	hint := "The instance's own path is blocked where its probe says (evidence.unreached and each check's evidence.instance_probe.hops): check the NSG and route table of the instance's subnet, and the firewall or appliance its routes lead to."
	var r probes.Result
	switch {
	case len(a.unreachedReq) > 0:
		r = probes.Failf(reason, probes.PhaseAnalysis, msg)
		r.Hint = hint
	case len(a.unreached) > 0:
		r = probes.Warnf(reason, probes.PhaseAnalysis, msg)
		r.Hint = hint
	case len(a.noAnswer) > 0 && errors.Is(context.Cause(ctx), probes.ErrRunDeadline):
		r = probes.Failf(probes.ReasonDeadline, probes.PhaseAnalysis, msg)
		r.Hint = "ConnectivityCheck takes tens of seconds on Azure: raise --deadline (120s) with --instance-probe."
	default:
		r = probes.Passf(msg)
	}
	return r
}

// issuesWords names the issues a path's hops carry: ", NetworkSecurityRule at
// VirtualAppliance 10.0.0.4 (RuleName=Deny…)".
func issuesWords(hops []probes.ProbeHop) string {
	if words := probes.IssueWords(hops); len(words) > 0 {
		return ": " + strings.Join(words, "; ")
	}
	return ""
}

// Meanings of the comparisons.
const (
	meaningBothReach     = "both this VM and the instance reach it"
	meaningBothFail      = "neither this VM nor the instance reaches it: the destination itself, or the route both share to it (an on-premises firewall, a VPN or ExpressRoute route, the destination's own access rules)"
	meaningInstanceFails = "this VM reaches it and the instance does not: the instance's path is not this VM's — the NSG and route table of the instance's subnet (when this VM sits in another), its NIC-level rules, firewall rules scoped to the instance's addresses, or other routes"
	meaningVMFails       = "the instance reaches it and this VM does not: this VM's path is not the instance's — this VM's NIC NSG, its own subnet's NSG and routes, or its resolvers; the instance itself is not blocked on this one"
)

// compare sets how the instance's answer and this VM's verdict agree.
func compare(ip *probes.InstanceProbe, r probes.Result) {
	vmReached := r.Status == probes.Pass || (r.Status == probes.Warn || r.Status == probes.Fail) && r.FailedPhase == probes.PhaseHTTP
	vmFailed := (r.Status == probes.Fail || r.Status == probes.Warn) && r.FailedPhase != probes.PhaseHTTP && r.Reason != probes.ReasonDeadline
	instFailed := ip.Error == "" && !ip.Reached && strings.EqualFold(ip.Status, "disconnected") || ip.Error == "" && !ip.Reached && ip.ProbesSent > 0 && ip.ProbesFailed >= ip.ProbesSent
	switch {
	case ip.Reached && vmReached:
		ip.Agreement, ip.Meaning = probes.AgreeBothReach, meaningBothReach
	case instFailed && vmFailed:
		ip.Agreement, ip.Meaning = probes.AgreeBothFail, meaningBothFail
	case instFailed && vmReached:
		ip.Agreement, ip.Meaning = probes.AgreeInstanceFails, meaningInstanceFails
	case ip.Reached && vmFailed:
		ip.Agreement, ip.Meaning = probes.AgreeVMFails, meaningVMFails
		if r.FailedPhase == probes.PhaseTLS {
			ip.Meaning += " (this VM failed in TLS; the instance's TCP probe only connects)"
		}
	default:
		ip.Agreement = probes.AgreeNotCompared
	}
}

// annotateInstanceProbe gives every check the instance probed its
// answer, compared with the check's own verdict, and says in
// instance.probe's message where the two disagree.
func annotateInstanceProbe(outs []probes.Outcome, got *instanceProbes) {
	if got == nil {
		return
	}
	var disagree []string
	summary := -1
	for i := range outs {
		o := &outs[i]
		if o.Check.Role == probes.RoleInstanceProbe {
			summary = i
			continue
		}
		ip := got.get(o.Check.ID)
		if ip == nil {
			continue
		}
		c := *ip
		compare(&c, o.Result)
		o.Result.InstanceProbe = &c
		switch c.Agreement {
		case probes.AgreeInstanceFails:
			disagree = append(disagree, o.Check.ID+" (this VM reaches it, the instance does not)")
		case probes.AgreeVMFails:
			disagree = append(disagree, o.Check.ID+" (the instance reaches it, this VM does not)")
		}
	}
	if summary >= 0 && len(disagree) > 0 {
		r := &outs[summary].Result
		sort.Strings(disagree)
		r.Message += "; this VM and the instance disagree on " + strings.Join(disagree, ", ") + ": their paths differ (the instance's subnet, NSG, routes)"
		if r.Evidence == nil {
			r.Evidence = map[string]any{}
		}
		r.Evidence["disagree"] = disagree
	}
}
