package findings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// dnsFailure: the check failed because of what a name server said.
func dnsFailure(r probes.Result) bool {
	switch r.Reason {
	case probes.ReasonDNSTimeout, probes.ReasonNXDomain, probes.ReasonServFail, probes.ReasonNoAnswer, probes.ReasonResolverDisagree:
		return true
	}
	return false
}

// resolverRule: many names fail the same way at the same server. A server
// that never answers is "silent"; a VNet server that says NXDOMAIN or
// SERVFAIL for names Azure DNS resolves does not forward to Azure DNS. One
// name failing at one server is left to its own check.
func resolverRule(in *Input, claimed map[string]bool) []report.Finding {
	groups, servers := byServer(in, claimed)
	var out []report.Finding
	if f, ok := noServerAnswers(in, servers, func(s string) []probes.Outcome { return groups[s].silent }); ok {
		out = append(out, f)
		// Per-server findings only where a sibling answers: here none does.
		for _, s := range servers {
			groups[s].silent = nil
		}
	}
	for _, s := range servers {
		g := groups[s]
		if len(g.silent) >= minSameServer {
			out = append(out, silentServer(in, g))
		}
		// Azure DNS must be seen resolving several of the names; the others
		// failed the same way at the same server.
		if len(g.noFwd) >= minSameServer && len(g.confirmed) >= minSameServer && !g.azure {
			out = append(out, noForwarding(in, claimed, g))
		}
	}
	return out
}

// serverGroup is what one name server did to the failed checks' names.
type serverGroup struct {
	server          string
	azure           bool
	silent, noFwd   []probes.Outcome
	confirmed       map[string]bool // noFwd names Azure DNS was seen to resolve
	azureAnswersAll bool
	azureServer     string
	rcodes          map[probes.Reason]int
}

// byServer groups the unclaimed DNS failures by the server that timed out
// (silent) or said NXDOMAIN, SERVFAIL or no answer where Azure DNS did not
// (noFwd); servers are the groups' keys, sorted.
func byServer(in *Input, claimed map[string]bool) (map[string]*serverGroup, []string) {
	groups := map[string]*serverGroup{}
	get := func(l probes.Lookup) *serverGroup {
		g := groups[l.Server]
		if g == nil {
			g = &serverGroup{server: l.Server, azure: l.Azure, azureAnswersAll: true, rcodes: map[probes.Reason]int{}, confirmed: map[string]bool{}}
			groups[l.Server] = g
		}
		return g
	}
	for _, o := range in.Outcomes {
		if claimed[o.Check.ID] || !bad(o.Result) || !dnsFailure(o.Result) {
			continue
		}
		// Azure DNS's view may be missing: a failed lookup waits for it, but
		// only within the check's limit (the resolver leaves pending views
		// out).
		azureOK, azureSeen, azureServer := false, false, ""
		for _, l := range o.Result.Lookups {
			if l.Azure {
				azureServer, azureSeen = l.Server, true
				azureOK = l.Outcome == probes.ReasonOK
			}
		}
		for _, l := range o.Result.Lookups {
			switch l.Outcome {
			case probes.ReasonDNSTimeout:
				g := get(l)
				g.silent = append(g.silent, o)
				g.azureAnswersAll = g.azureAnswersAll && azureOK
				g.azureServer = or(g.azureServer, azureServer)
			case probes.ReasonNXDomain, probes.ReasonServFail, probes.ReasonNoAnswer:
				if l.Azure || (azureSeen && !azureOK) {
					continue
				}
				g := get(l)
				g.noFwd = append(g.noFwd, o)
				if azureOK {
					g.confirmed[o.Check.Target.Host] = true
				}
				g.rcodes[l.Outcome]++
				g.azureServer = or(g.azureServer, azureServer)
			}
		}
	}
	servers := make([]string, 0, len(groups))
	for s := range groups {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	return groups, servers
}

// silentServer is the finding for a server that answers none of the
// names: Azure DNS itself (this VM's path drops DNS to it), or the VNet's.
func silentServer(in *Input, g *serverGroup) report.Finding {
	addr := hostOnly(g.server)
	azureDNS := hostOnly(or(g.azureServer, "168.63.129.16"))
	names := namesOf(g.silent)
	f := report.Finding{
		ID: IDResolverSilent, Severity: severityOf(g.silent),
		Checks:   ids(g.silent),
		Evidence: map[string]any{"resolver": g.server, "names": capList(names, 10), "names_failing": len(names)},
	}
	if g.azure {
		f.Title = "Azure DNS " + addr + " does not answer"
		f.Cause = fmt.Sprintf("Azure DNS (%s) answers none of the %s asked: something on this VM or its path drops DNS to it.", addr, plural(len(names), "name", "names"))
		f.Fix = report.Fix{Summary: "Allow UDP and TCP 53 to " + addr + " in the VM's own firewall and any appliance the route table sends it to; NSGs do not filter Azure DNS."}
		return f
	}
	f.Title = "DNS server " + addr + " does not answer"
	tail := ""
	if g.azureAnswersAll {
		tail = fmt.Sprintf(", while Azure DNS (%s) answers them", azureDNS)
		f.Evidence["azure_dns_answers"] = true
	}
	f.Cause = fmt.Sprintf("The VNet's DNS server %s answers none of the %s asked (every query times out)%s: every dependency whose name it must resolve fails.",
		addr, plural(len(names), "name", "names"), tail)
	rg, vnet := vnetOf(in)
	f.Fix = report.Fix{
		Summary: "Make " + addr + " answer queries from the subnet (the server runs, and no NSG, route or firewall drops UDP and TCP 53 to it), or set the VNet's DNS servers to ones that answer.",
		Commands: []string{
			fmt.Sprintf("az network vnet show --resource-group %s --name %s --query dhcpOptions.dnsServers", rg, vnet),
			fmt.Sprintf("az network vnet update --resource-group %s --name %s --dns-servers <dns-server-that-answers>", rg, vnet),
		},
	}
	return f
}

// noForwarding is the finding for a VNet server that refuses names Azure
// DNS resolves: it does not forward to Azure DNS.
func noForwarding(in *Input, claimed map[string]bool, g *serverGroup) report.Finding {
	addr := hostOnly(g.server)
	azureDNS := hostOnly(or(g.azureServer, "168.63.129.16"))
	names := namesOf(g.noFwd)
	var said []string
	for _, r := range []probes.Reason{probes.ReasonNXDomain, probes.ReasonServFail, probes.ReasonNoAnswer} {
		if g.rcodes[r] > 0 {
			said = append(said, strings.ToUpper(strings.ReplaceAll(string(r), "-", " ")))
		}
	}
	resolved := fmt.Sprintf(" that Azure DNS (%s) resolves", azureDNS)
	if len(g.confirmed) < len(names) {
		resolved = fmt.Sprintf(", %d of which Azure DNS (%s) resolves (it had not answered the others within their checks' limits)", len(g.confirmed), azureDNS)
	}
	return report.Finding{
		ID: IDResolverNoFwd, Severity: severityOf(g.noFwd),
		Title: "DNS server " + addr + " does not forward to Azure DNS",
		Cause: fmt.Sprintf("The VNet's DNS server %s answers %s for %s%s: it does not forward the names it does not host to Azure DNS.",
			addr, strings.Join(said, " or "), plural(len(names), "name", "names"), resolved),
		Checks: ids(append(g.noFwd, nxdomainAt(in, claimed, g.server)...)),
		Evidence: map[string]any{"resolver": g.server, "azure_dns": azureDNS, "names": capList(names, 10), "names_failing": len(names),
			"azure_dns_resolved": len(g.confirmed)},
		Fix: report.Fix{Summary: "On " + addr + ", forward what it does not host to Azure DNS " + azureDNS +
			" (a forwarder for everything, or conditional forwarders for azure-api.net, core.windows.net, database.windows.net, vault.azure.net and the other Azure zones); Azure DNS answers only from inside Azure."},
	}
}

// nxdomainAt are the zone checks that saw server answer NXDOMAIN for a name
// Azure DNS resolves: from a server that forwards nothing, that follows from
// its not forwarding, and says nothing of a zone.
func nxdomainAt(in *Input, claimed map[string]bool, server string) []probes.Outcome {
	var out []probes.Outcome
	for _, o := range in.Outcomes {
		if o.Check.Role != probes.RoleZoneScope || claimed[o.Check.ID] || !bad(o.Result) {
			continue
		}
		for _, l := range o.Result.Lookups {
			if l.Server == server && !l.Azure && l.Outcome == probes.ReasonNXDomain {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// noServerAnswers: several DNS servers each let many names time out, and no
// server answered any name in the whole run: one finding names them all,
// rather than one per server saying the same thing.
func noServerAnswers(in *Input, servers []string, silentAt func(string) []probes.Outcome) (report.Finding, bool) {
	var quiet []string
	var hit []probes.Outcome
	for _, s := range servers {
		if os := silentAt(s); len(os) >= minSameServer {
			quiet = append(quiet, s)
			hit = append(hit, os...)
		}
	}
	if len(quiet) < 2 {
		return report.Finding{}, false
	}
	passing := 0
	for _, o := range in.Outcomes {
		for _, l := range o.Result.Lookups {
			if l.Outcome != "" && !silent(l.Outcome) {
				return report.Finding{}, false
			}
		}
		if o.Check.Kind == probes.KindDNS && o.Result.Status == probes.Pass {
			return report.Finding{}, false
		}
		if o.Result.Status == probes.Pass {
			passing++
		}
	}
	hit = dedupe(hit)
	names := namesOf(hit)
	addrs := make([]string, len(quiet))
	for i, s := range quiet {
		addrs[i] = hostOnly(s)
	}
	still := ""
	if passing > 0 {
		still = fmt.Sprintf(", while %s that need no lookup pass", plural(passing, "check", "checks"))
	}
	rg, vnet := vnetOf(in)
	return report.Finding{
		ID: IDNoResolver, Severity: severityOf(hit),
		Title: "No DNS server answers: " + ListOf(addrs, 3),
		Cause: fmt.Sprintf("Every DNS server this VM asks (%s) lets every query time out, for all %s asked%s: DNS from this VM is dropped on its way to every server (this VM's firewall, an NSG or appliance that drops UDP and TCP 53), or none of them runs. Every dependency whose name must resolve fails from it.",
			ListOf(addrs, 3), plural(len(names), "name", "names"), still),
		Checks:   ids(hit),
		Evidence: map[string]any{"resolvers": quiet, "names": capList(names, 10), "names_failing": len(names)},
		Fix: report.Fix{
			Summary: "Let this VM reach its DNS servers on UDP and TCP 53 (its own firewall, the NSG and any appliance the route table sends DNS to) and make sure they run; Azure DNS 168.63.129.16 is reached from the VM's own host, so only this VM's firewall can drop DNS to it.",
			Commands: []string{
				fmt.Sprintf("az network vnet show --resource-group %s --name %s --query dhcpOptions.dnsServers", rg, vnet),
			},
		},
	}, true
}

// zoneNotLinkedRule: the instance's names get a public answer where the
// private VIP was expected. Every check that dials those names is explained
// too (it reached the public address, or nothing).
func zoneNotLinkedRule(in *Input, claimed map[string]bool) []report.Finding {
	hosts := map[string]bool{}
	var hit []probes.Outcome
	var public []string
	for _, o := range in.Outcomes {
		h := o.Check.Target.Host
		if claimed[o.Check.ID] || !bad(o.Result) || o.Result.Reason != probes.ReasonPublicAnswer || !apimName(in, h) {
			continue
		}
		hosts[h] = true
		hit = append(hit, o)
		for _, l := range o.Result.Lookups {
			if !l.Azure {
				public = append(public, l.Addrs...)
			}
		}
	}
	if len(hit) == 0 {
		return nil
	}
	for _, o := range in.Outcomes {
		if claimed[o.Check.ID] || !bad(o.Result) || o.Result.Reason == probes.ReasonPublicAnswer || !hosts[o.Check.Target.Host] {
			continue
		}
		hit = append(hit, o)
	}
	names := namesOf(hit)
	gw := or(gatewayName(in), names[0])
	vip := in.Context.InstancePrivateIP
	_, vnetID := vnetOf(in)
	if in.Azure.SubnetID != "" {
		vnetID = vnetIDOf(in.Azure.SubnetID)
	}
	cause := fmt.Sprintf("The instance's names (%s) resolve to the public address %s here, not to the private VIP", ListOf(names, 3), ListOf(uniq(public), 2))
	if vip != "" {
		cause += " " + vip
	}
	cause += ": the private DNS zone that holds them is not linked to this VNet, or the VNet's DNS server does not host them."
	return []report.Finding{{
		ID: IDZoneNotLinked, Severity: severityOf(hit),
		Title:    "The instance's names resolve to a public address",
		Cause:    cause,
		Checks:   ids(hit),
		Evidence: map[string]any{"names": names, "answers": uniq(public), "expected": vip},
		Fix: report.Fix{
			Summary: "Link the private DNS zone holding " + gw + " to the VNet (or give the VNet's DNS server A records for these names pointing at " + or(vip, "the private VIP") + ").",
			Commands: []string{
				fmt.Sprintf("az network private-dns link vnet create --resource-group <zone-resource-group> --zone-name %s --name %s-link --virtual-network %s --registration-enabled false", gw, or(in.Context.Service, "apim"), vnetID),
				fmt.Sprintf("az network private-dns record-set a add-record --resource-group <zone-resource-group> --zone-name %s --record-set-name @ --ipv4-address %s", gw, or(vip, "<private-vip>")),
			},
		},
	}}
}

// zoneSwallowsRule: a private zone named after the whole APIM domain
// answers for every instance's names, so other instances' names fail.
func zoneSwallowsRule(in *Input, claimed map[string]bool) []report.Finding {
	var hit []probes.Outcome
	for _, o := range in.Outcomes {
		if o.Check.Role == probes.RoleZoneScope && !claimed[o.Check.ID] && bad(o.Result) && zoneSeen(o.Result) {
			hit = append(hit, o)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	suffix := or(in.APIMSuffix, "azure-api.net")
	var servers []string
	for _, l := range hit[0].Result.Lookups {
		if !l.Azure && l.Outcome != probes.ReasonOK {
			servers = append(servers, hostOnly(l.Server))
		}
	}
	where := "a DNS server of the VNet"
	if len(servers) > 0 {
		where = "DNS server " + ListOf(servers, 2)
	}
	gw := or(gatewayName(in), "<service>."+suffix)
	return []report.Finding{{
		ID: IDZoneSwallows, Severity: severityOf(hit),
		Title:    "A private zone swallows the whole " + suffix + " domain",
		Cause:    "A zone named " + suffix + " on " + where + " answers for every " + suffix + " name, so other API Management instances (and the public names of this one) do not resolve from this VNet.",
		Checks:   ids(hit),
		Evidence: map[string]any{"zone": suffix, "servers": servers},
		Fix: report.Fix{
			Summary: "Replace the " + suffix + " zone with one zone per host name of the instance (" + gw + ", its portal, management and scm names), each with an apex A record.",
			Commands: []string{
				fmt.Sprintf("az network private-dns zone list --query \"[?name=='%s']\"", suffix),
				fmt.Sprintf("az network private-dns zone create --resource-group <zone-resource-group> --name %s", gw),
			},
		},
	}}
}

// zoneSeen: the zone check saw a zone where the public one belongs (its
// wrong-answer), from a server that answered. A check that got no answer
// at all saw no zone.
func zoneSeen(r probes.Result) bool {
	if r.Reason != probes.ReasonWrongAnswer {
		return false
	}
	for _, l := range r.Lookups {
		if !l.Azure && l.Outcome != "" && !silent(l.Outcome) {
			return true
		}
	}
	return false
}

func apimName(in *Input, host string) bool {
	s := or(in.APIMSuffix, "azure-api.net")
	return strings.HasSuffix(strings.ToLower(host), "."+s)
}

func gatewayName(in *Input) string {
	if in.Context.Service == "" {
		return ""
	}
	return in.Context.Service + "." + or(in.APIMSuffix, "azure-api.net")
}

// namesOf lists the distinct host names of the checks, in order.
func namesOf(os []probes.Outcome) []string {
	var hs []string
	for _, o := range os {
		hs = append(hs, o.Check.Target.Host)
	}
	return uniq(hs)
}

func capList(ss []string, n int) []string {
	if len(ss) > n {
		return ss[:n]
	}
	return ss
}

// vnetOf returns the VNet's resource group and name for commands, from the
// subnet's resource id when Resource Manager gave it.
func vnetOf(in *Input) (rg, name string) {
	rg, seg := resourceID(in.Azure.SubnetID)
	return or(rg, or(in.Context.ResourceGroup, "<resource-group>")), or(seg["virtualnetworks"], "<vnet>")
}

func vnetIDOf(subnetID string) string {
	if i := strings.Index(strings.ToLower(subnetID), "/subnets/"); i >= 0 {
		return subnetID[:i]
	}
	return subnetID
}
