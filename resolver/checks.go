package resolver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

const (
	checkKind     = probes.KindDNS
	checkCategory = "DNS"
	azureDNSText  = "Azure DNS (168.63.129.16)"
)

// Checks builds the dns.* checks: one per name (dns.gateway, dns.portal, …)
// and dns.zone-scope for the domain suffix (azure-api.net in the public
// cloud). exp must be the Expecter the Set was built with: the names are
// judged against what it knows once the run's discovery has settled. A nil
// set is allowed for `plan`, which never runs the probes.
func Checks(set *Set, names []Name, suffix string, exp Expecter) []probes.Check {
	if exp == nil {
		exp = Fixed{}
	}
	var out []probes.Check
	for _, n := range names {
		c := probes.Check{
			ID: n.ID, Title: n.Title, Category: checkCategory, Kind: checkKind,
			Facets:   probes.Facets{Area: probes.AreaDNS, Role: probes.RoleName, Dependency: probes.DepAPIManagement, Protocol: probes.ProtoUDP},
			Required: n.Required, Target: probes.Name(n.Host), Source: "learn.microsoft.com/azure/api-management/api-management-using-with-internal-vnet (DNS configuration: the default host names)",
			Why: whyName(n, exp.Known()),
		}
		if n.Host == "" {
			c.Target = probes.Subject(n.Pattern)
			reason := n.SkipReason
			if reason == "" {
				reason = probes.ReasonNoData
			}
			msg := n.SkipMsg
			if msg == "" {
				msg = "no host name for this check"
			}
			r := probes.Skipf(reason, msg, n.SkipHint)
			c.Preset = &r
		} else {
			c.Probe = nameProbe(set, n, exp)
		}
		out = append(out, c)
	}
	if suffix != "" {
		out = append(out, probes.Check{
			ID: IDZoneScope, Title: "No private zone swallows " + suffix, Category: checkCategory,
			Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleZoneScope, Dependency: probes.DepAPIManagement, Protocol: probes.ProtoUDP},
			Kind:   checkKind, Target: probes.Name(suffix), Source: "learn.microsoft.com/azure/dns/private-dns-overview (a private zone answers for every name under it)",
			Why:   fmt.Sprintf("A private DNS zone named %s hides every other instance's *.%s name behind NXDOMAIN.", suffix, suffix),
			Probe: ZoneScopeProbe(set, suffix, ""),
		})
	}
	return out
}

func whyName(n Name, exp Expectation) string {
	if exp.ExpectsPrivate() {
		return fmt.Sprintf("Clients in the VNet reach %s by name; in %s mode it must resolve to the instance's private VIP on every DNS server the VNet uses.", n.Host, modeText(exp))
	}
	return fmt.Sprintf("In %s mode %s resolves from the public zone to the public VIP; a private record or a DNS server that does not forward breaks it.", modeText(exp), n.Host)
}

func modeText(exp Expectation) probes.Mode {
	if exp.Mode == "" {
		return probes.ModeInternal
	}
	return exp.Mode
}

func nameProbe(set *Set, n Name, src Expecter) probes.ProbeFunc {
	return func(ctx context.Context) probes.Result {
		if set == nil {
			return probes.Failf(probes.ReasonError, probes.PhaseDNS, "no resolver set was configured")
		}
		start := time.Now()
		c := set.Compare(ctx, n.Host)
		// The instance's VIP may still be on its way from Resource Manager:
		// wait for it, but leave the check time to judge without it.
		sctx, cancel := context.WithDeadline(ctx, judgeBy(ctx))
		exp, missing := src.Settled(sctx)
		cancel()
		r := judgeName(ctx, exp, c)
		if len(missing) > 0 && r.Status != probes.Skip {
			r.Message += fmt.Sprintf(" (judged without %s: Resource Manager had not told it within the check's limit; pass --private-ip to give it)", strings.Join(missing, " and "))
		}
		r.Duration = time.Since(start)
		r.Phases = map[string]int64{"dns_ms": r.Duration.Milliseconds()}
		r.Evidence = map[string]any{"host": c.Host, "resolvers": c.Evidence(exp), "expected": expectedEvidence(exp)}
		r.Lookups = c.Lookups()
		if c.Primary >= 0 {
			for _, a := range c.Views[c.Primary].Addrs {
				r.Addresses = append(r.Addresses, a.String())
			}
		}
		return r
	}
}

// judgeBy is when a check must stop waiting for discovery to have time left
// to judge: a fifth of what remains of its limit, at most a quarter second,
// is kept for that.
func judgeBy(ctx context.Context) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(defaultTimeout)
	}
	return dl.Add(-min(time.Until(dl)/5, 250*time.Millisecond))
}

// expectedEvidence is what the answer was judged against, and only that:
// the VIP the mode expects (the private one in the private modes, else the
// public one). The other VIP is not judged, and when it came from Resource
// Manager it would be there or not by which finished first, the instance's
// read or the check.
func expectedEvidence(exp Expectation) map[string]any {
	m := map[string]any{"mode": modeText(exp), "private": exp.ExpectsPrivate()}
	if exp.ExpectsPrivate() && exp.PrivateIP.IsValid() {
		m["private_ip"] = exp.PrivateIP.String()
	}
	if !exp.ExpectsPrivate() && exp.PublicIP.IsValid() {
		m["public_ip"] = exp.PublicIP.String()
	}
	if exp.Subnet.IsValid() {
		m["subnet"] = exp.Subnet.String()
	}
	if len(exp.VNet) > 0 {
		var v []string
		for _, p := range exp.VNet {
			v = append(v, p.String())
		}
		m["vnet"] = v
	}
	return m
}

// judgeName turns a comparison of one instance name into the check's result.
func judgeName(ctx context.Context, exp Expectation, c Comparison) probes.Result {
	p := c.Primary
	if p < 0 {
		return probes.Failf(probes.ReasonError, probes.PhaseDNS, "no DNS server to ask")
	}
	// The VM's own server gave no answer in time: the check ended first, or
	// the server's question did, a moment before it (its last try's budget
	// was what was left then). Either way it is the same outcome, in the
	// same words: the server's, or the run's deadline when that cut it.
	if pv := c.Views[p]; !pv.Answered() && (ctx.Err() != nil || isTimeout(pv.Err)) {
		err := pv.dnsErr()
		if !isTimeout(pv.Err) {
			err = ctx.Err() // it was still failing over when the check ended
		}
		reason, msg := probes.Classify(ctx, err)
		if reason == probes.ReasonTimeout {
			reason = probes.ReasonDNSTimeout
		}
		r := probes.Failf(reason, probes.PhaseDNS, msg)
		r.Hint = nameHint(probes.ReasonDNSTimeout, exp, c.Host, pv.Server)
		return r
	}
	reasons := make([]probes.Reason, len(c.Views))
	whys := make([]string, len(c.Views))
	for i, v := range c.Views {
		reasons[i], whys[i] = exp.judgeInstance(v)
	}
	pv := c.Views[p]
	// Before deployment no server knows the name; that is not a failure
	// unless the operator says the instance exists (--phase post).
	if exp.Phase != probes.DeployPost && pv.Answered() && allAbsentOrSilent(c.Views) {
		return probes.Skipf(probes.ReasonNotApplicable,
			fmt.Sprintf("%s resolves on no DNS server: the instance is not deployed yet (pre-deploy)", c.Host),
			"Run with --phase post after deployment to check the instance's DNS records.")
	}
	who := serverText(pv.Server)
	if reasons[p] == probes.ReasonOK {
		return primaryResolves(exp, c, reasons)
	}
	if az := c.Azure; az >= 0 && az != p && reasons[az] == probes.ReasonOK {
		r := probes.Failf(probes.ReasonResolverDisagree, probes.PhaseDNS, fmt.Sprintf(
			"%s answers %s for %s (%s), but %s answers %s: the VNet's DNS server does not forward to Azure DNS",
			who, pv.Describe(), c.Host, reasons[p], azureDNSText, c.Views[az].Describe()))
		r.Hint = fmt.Sprintf("Make DNS server %s forward %s (a conditional forwarder for its zone) to Azure DNS 168.63.129.16, or give it the same A record.", pv.Server.Addr.Addr(), c.Host)
		return r
	}
	msg := fmt.Sprintf("%s: %s answers %s", c.Host, who, pv.Describe())
	if whys[p] != "" && whys[p] != pv.Describe() {
		msg += ": " + whys[p]
	}
	r := probes.Failf(reasons[p], probes.PhaseDNS, msg)
	r.Hint = nameHint(reasons[p], exp, c.Host, pv.Server)
	return r
}

// primaryResolves is the result when the VM's own server answers as it
// should: a warning when another server answers otherwise (Azure DNS, or a
// sibling), else a pass that says who agrees and who was silent.
func primaryResolves(exp Expectation, c Comparison, reasons []probes.Reason) probes.Result {
	p := c.Primary
	pv := c.Views[p]
	who := serverText(pv.Server)
	var dissent []string
	var azureDissents bool
	var silent []string
	for i, v := range c.Views {
		if i == p {
			continue
		}
		switch {
		case v.Err != nil:
			silent = append(silent, fmt.Sprintf("%s: %s", serverText(v.Server), v.Describe()))
		case reasons[i] != probes.ReasonOK:
			dissent = append(dissent, fmt.Sprintf("%s answers %s", serverText(v.Server), v.Describe()))
			azureDissents = azureDissents || i == c.Azure
		}
	}
	if len(dissent) > 0 {
		r := probes.Warnf(probes.ReasonResolverDisagree, probes.PhaseDNS, fmt.Sprintf(
			"%s answers %s for %s, but %s", who, pv.Describe(), c.Host, strings.Join(dissent, "; ")))
		if azureDissents {
			r.Hint = fmt.Sprintf("%s answers differently for %s: link the private DNS zone that holds %s to this VNet, or keep it in step with the record on %s.", azureDNSText, c.Host, c.Host, pv.Server.Addr.Addr())
		} else {
			r.Hint = fmt.Sprintf("The VNet's DNS servers disagree about %s: give every server in the VNet's DNS settings the same record (forward %s to Azure DNS 168.63.129.16).", c.Host, c.Host)
		}
		return r
	}
	msg := fmt.Sprintf("%s resolves to %s via %s", c.Host, pv.Describe(), who)
	if exp.ExpectsPrivate() && !exp.PrivateIP.IsValid() && !exp.Subnet.IsValid() && len(exp.VNet) == 0 {
		msg += " (a private address; the expected VIP and subnet are unknown, so only private ranges were checked: pass --private-ip or --subnet)"
	}
	if len(c.Views) > 1 && len(silent) < len(c.Views)-1 {
		msg += "; the other resolvers agree"
	}
	if len(silent) > 0 {
		msg += " (no answer from " + strings.Join(silent, "; ") + ")"
	}
	return probes.Passf(msg)
}

// allAbsentOrSilent: every server either says the name does not exist or
// did not answer at all — what a not-yet-deployed instance looks like.
func allAbsentOrSilent(vs []View) bool {
	for _, v := range vs {
		if v.Err != nil {
			continue
		}
		if r := v.Reason(); r != probes.ReasonNXDomain && r != probes.ReasonNoAnswer {
			return false
		}
	}
	return true
}

func serverText(s Server) string {
	switch {
	case s.Role == RoleAzure:
		return "Azure DNS " + s.Addr.String()
	case s.Stub():
		return "the local stub resolver " + s.Addr.String()
	case s.Role == RoleUpstream:
		return "DNS server " + s.Addr.String() + " (the stub's upstream)"
	}
	return "DNS server " + s.Addr.String()
}

func vipText(exp Expectation) string {
	if exp.PrivateIP.IsValid() {
		return exp.PrivateIP.String()
	}
	return "the instance's private VIP"
}

// nameHint is the concrete change for a failed instance name.
func nameHint(reason probes.Reason, exp Expectation, host string, srv Server) string {
	server := srv.Addr.Addr().String()
	switch reason {
	case probes.ReasonNXDomain, probes.ReasonNoAnswer:
		if exp.ExpectsPrivate() {
			return fmt.Sprintf("Add an A record %s → %s: a private DNS zone named %s linked to this VNet, or the record on DNS server %s.", host, vipText(exp), host, server)
		}
		return fmt.Sprintf("%s should resolve from the public zone: make DNS server %s forward to Azure DNS 168.63.129.16, and check the instance name given with --service.", host, server)
	case probes.ReasonServFail:
		return fmt.Sprintf("DNS server %s fails for %s: fix its forwarder (forward to Azure DNS 168.63.129.16) and check its logs.", server, host)
	case probes.ReasonPublicAnswer:
		return fmt.Sprintf("%s resolves publicly: create a private DNS zone named %s with an A record to %s and link it to this VNet (or add the record on DNS server %s).", host, host, vipText(exp), server)
	case probes.ReasonWrongAnswer:
		if exp.ExpectsPrivate() {
			return fmt.Sprintf("Change the A record for %s to %s, in its private DNS zone or on DNS server %s.", host, vipText(exp), server)
		}
		return fmt.Sprintf("Remove the private record or zone for %s so it resolves from the public zone to the public VIP (%s mode).", host, modeText(exp))
	}
	return fmt.Sprintf("Allow UDP and TCP port 53 from the subnet to DNS server %s in the NSG and any firewall, and check that the server is running.", server)
}

// QuerySOA asks every server for the SOA of zone (absolute, no search list)
// and waits for all of them or ctx.
func (s *Set) QuerySOA(ctx context.Context, zone string) []View {
	name := dns.Fqdn(canonical(zone))
	fs := s.views(ctx, cacheKey{name: name, qtype: dns.TypeSOA}).fs
	out := make([]View, len(fs))
	for i, f := range fs {
		out[i] = wait(ctx, f, s.servers[i], strings.TrimSuffix(name, "."))
	}
	return out
}
