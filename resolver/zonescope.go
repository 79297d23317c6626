package resolver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// An Azure private DNS zone always carries this SOA (host azureprivatedns.net,
// email azureprivatedns-host.microsoft.com); seeing it for the whole instance
// domain means a private zone named after the domain is linked to the VNet.
const (
	privateZoneMname = "azureprivatedns.net."
	privateZoneRname = "azureprivatedns-host.microsoft.com."
)

// IsPrivateZoneSOA says whether soa is an Azure private DNS zone's SOA.
func IsPrivateZoneSOA(soa *dns.SOA) bool {
	return soa != nil && (strings.EqualFold(dns.Fqdn(soa.Ns), privateZoneMname) || strings.EqualFold(dns.Fqdn(soa.Mbox), privateZoneRname))
}

// DefaultCanary is a name beside the instance's that the public zone does
// not hold: the public answer is NXDOMAIN with the public zone's SOA, so a
// different SOA (a private zone's, a custom server's) gives a swallowing
// zone away. A canary that exists publicly works too, and better.
func DefaultCanary(suffix string) string { return "apimprobe-canary-7f3a." + suffix }

// ZoneScopeProbe checks that no resolver serves the whole suffix
// (azure-api.net) from a private zone. It asks every server for the SOA of
// the suffix and for a canary name beside the instance's, and compares what
// the VNet's servers say with Azure DNS. canary "" means DefaultCanary.
func ZoneScopeProbe(set *Set, suffix, canary string) probes.ProbeFunc {
	if canary == "" {
		canary = DefaultCanary(suffix)
	}
	return func(ctx context.Context) probes.Result {
		if set == nil {
			return probes.Failf(probes.ReasonError, probes.PhaseDNS, "no resolver set was configured")
		}
		start := time.Now()
		var soas []View
		var cmp Comparison
		done := make(chan struct{})
		go func() { soas = set.QuerySOA(ctx, suffix); close(done) }()
		cmp = set.Compare(ctx, dns.Fqdn(canary))
		<-done
		r := judgeZoneScope(ctx, set, suffix, soas, cmp)
		r.Duration = time.Since(start)
		r.Phases = map[string]int64{"dns_ms": r.Duration.Milliseconds()}
		exp := set.expect.Known()
		soaEv := make([]ViewEvidence, len(soas))
		for i, v := range soas {
			soaEv[i] = v.evidence(exp)
		}
		r.Evidence = map[string]any{"zone": suffix, "soa": soaEv, "canary": cmp.Host, "canary_resolvers": cmp.Evidence(exp)}
		r.Lookups = cmp.Lookups()
		return r
	}
}

func judgeZoneScope(ctx context.Context, set *Set, suffix string, soas []View, canary Comparison) probes.Result {
	zone := dns.Fqdn(suffix)
	apex := func(soa *dns.SOA) bool { return soa != nil && strings.EqualFold(soa.Hdr.Name, zone) }
	var azSOA, azCanarySOA *dns.SOA
	azCanaryAddrs := false
	if a := set.azure; a >= 0 {
		if soas[a].Err == nil {
			azSOA = soas[a].SOA
		}
		if canary.Views[a].Err == nil {
			azCanarySOA = canary.Views[a].SOA
			azCanaryAddrs = len(canary.Views[a].Addrs) > 0
		}
	}
	sameSOA := func(a, b *dns.SOA) bool {
		return a == nil || b == nil || strings.EqualFold(a.Ns, b.Ns) && strings.EqualFold(a.Mbox, b.Mbox)
	}
	var findings []string
	var culprit string
	privateZone := false
	observed := 0
	for i, srv := range set.servers {
		sv, cv := soas[i], canary.Views[i]
		if sv.Err == nil || cv.Err == nil {
			observed++
		}
		who := serverText(srv)
		switch {
		case sv.Err == nil && apex(sv.SOA) && IsPrivateZoneSOA(sv.SOA):
			findings = append(findings, fmt.Sprintf("%s answers the SOA of %s from an Azure private DNS zone (%s)", who, suffix, strings.TrimSuffix(sv.SOA.Ns, ".")))
			privateZone = true
		case cv.Err == nil && cv.Rcode == dns.RcodeNameError && apex(cv.SOA) && IsPrivateZoneSOA(cv.SOA):
			findings = append(findings, fmt.Sprintf("%s answers NXDOMAIN for %s from an Azure private DNS zone named %s", who, canary.Host, suffix))
			privateZone = true
		case srv.Role == RoleAzure:
			continue // the other cases compare a VNet server with Azure DNS
		case cv.Err == nil && cv.Rcode == dns.RcodeNameError && azCanaryAddrs:
			findings = append(findings, fmt.Sprintf("%s answers NXDOMAIN for %s, which %s resolves", who, canary.Host, azureDNSText))
		case sv.Err == nil && apex(sv.SOA) && !sameSOA(sv.SOA, azSOA):
			findings = append(findings, fmt.Sprintf("%s serves its own zone %s (SOA %s), unlike %s (SOA %s)", who, suffix, strings.TrimSuffix(sv.SOA.Ns, "."), azureDNSText, strings.TrimSuffix(azSOA.Ns, ".")))
		case cv.Err == nil && apex(cv.SOA) && !sameSOA(cv.SOA, azCanarySOA):
			findings = append(findings, fmt.Sprintf("%s answers %s from its own zone %s (SOA %s), unlike %s", who, canary.Host, suffix, strings.TrimSuffix(cv.SOA.Ns, "."), azureDNSText))
		default:
			continue
		}
		if culprit == "" {
			culprit = srv.Addr.Addr().String()
		}
	}
	if len(findings) > 0 {
		r := probes.Warnf(probes.ReasonWrongAnswer, probes.PhaseDNS, fmt.Sprintf(
			"a zone named %s swallows the whole domain: %s; every other *.%s name (other instances) gets NXDOMAIN",
			suffix, strings.Join(findings, "; "), suffix))
		if privateZone {
			r.Hint = fmt.Sprintf("Replace the private DNS zone %q linked to this VNet with one zone per instance name (contoso.%s, contoso.portal.%s, …), each with an apex A record to the VIP.", suffix, suffix, suffix)
		} else {
			r.Hint = fmt.Sprintf("On DNS server %s replace the zone %q with one zone per instance name (contoso.%s, contoso.portal.%s, …) and forward the rest to Azure DNS 168.63.129.16.", culprit, suffix, suffix, suffix)
		}
		return r
	}
	if observed == 0 {
		p := set.primary(canary.Views)
		reason := canary.Views[p].Reason()
		if ctx.Err() != nil {
			reason, _ = probes.Classify(ctx, ctx.Err())
			if reason == probes.ReasonTimeout {
				reason = probes.ReasonDNSTimeout
			}
		}
		r := probes.Failf(reason, probes.PhaseDNS, fmt.Sprintf("no DNS server answered the SOA of %s or %s", suffix, canary.Host))
		r.Hint = nameHint(probes.ReasonDNSTimeout, set.expect.Known(), suffix, canary.Views[p].Server)
		return r
	}
	return probes.Passf(fmt.Sprintf("no resolver serves the whole %s privately; %s gets the public zone's answer", suffix, canary.Host))
}
