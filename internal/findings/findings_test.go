package findings

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

const (
	vnetDNS  = "10.0.0.4:53"
	azureDNS = "168.63.129.16:53"
)

func dialCheck(id, host string, port int, tag string, required bool) probes.Check {
	return probes.Check{ID: id, Kind: probes.KindTLS, Target: probes.HostPort(host, port), Required: required,
		Facets: probes.Facets{Area: probes.AreaOutbound, ServiceTag: tag, Protocol: probes.ProtoTCP}}
}

func out(c probes.Check, r probes.Result) probes.Outcome { return probes.Outcome{Check: c, Result: r} }

func pass(c probes.Check) probes.Outcome { return out(c, probes.Passf("ok")) }

// dnsFail is a check whose name failed at the VNet server with outcome, and
// got answer from Azure DNS (empty: Azure DNS failed the same way).
func dnsFail(c probes.Check, reason probes.Reason, vnet probes.Reason, azure string) probes.Outcome {
	r := probes.Failf(reason, probes.PhaseResolve, "cannot resolve")
	az := probes.Lookup{Server: azureDNS, Azure: true, Outcome: vnet}
	if azure != "" {
		az = probes.Lookup{Server: azureDNS, Azure: true, Outcome: probes.ReasonOK, Addrs: []string{azure}}
	}
	r.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: vnet}, az}
	return out(c, r)
}

func diagnose(t *testing.T, os ...probes.Outcome) []report.Finding {
	t.Helper()
	return Diagnose(Input{Outcomes: os, Context: report.Context{
		Service: "contoso", Mode: probes.ModeInternal, ResourceGroup: "rg-apim", SubscriptionID: "sub-1",
		InstancePrivateIP: "10.0.1.5",
	}, APIMSuffix: "azure-api.net"})
}

func only(t *testing.T, fs []report.Finding, id string) report.Finding {
	t.Helper()
	var hit []report.Finding
	for _, f := range fs {
		if f.ID == id {
			hit = append(hit, f)
		}
	}
	if len(hit) != 1 {
		t.Fatalf("want one %s finding, got %d: %+v", id, len(hit), fs)
	}
	return hit[0]
}

func none(t *testing.T, fs []report.Finding, id string) {
	t.Helper()
	for _, f := range fs {
		if f.ID == id {
			t.Fatalf("%s must not fire: %+v", id, f)
		}
	}
}

var (
	blob  = dialCheck("outbound.storage.blob", "acct.blob.core.windows.net", 443, "Storage", true)
	table = dialCheck("outbound.storage.table", "acct.table.core.windows.net", 443, "Storage", true)
	sql   = dialCheck("outbound.sql", "srv.database.windows.net", 1433, "Sql", true)
	kv    = dialCheck("outbound.keyvault", "kv.vault.azure.net", 443, "AzureKeyVault", true)
	graph = dialCheck("outbound.graph.metadata", "graph.microsoft.com", 443, "AzureActiveDirectory", false)
	gwDNS = probes.Check{ID: "dns.gateway", Kind: probes.KindDNS, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleName}, Target: probes.Name("contoso.azure-api.net"), Required: true}
	gwIn  = dialCheck("inbound.gateway", "contoso.azure-api.net", 443, "", true)
)

func TestResolverSilent(t *testing.T) {
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.1"),
		dnsFail(sql, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.2"),
		dnsFail(gwDNS, probes.ReasonResolverDisagree, probes.ReasonDNSTimeout, "10.0.1.5"),
		pass(kv))
	f := only(t, fs, IDResolverSilent)
	if f.Severity != report.SeverityBlocking || !strings.Contains(f.Title, "10.0.0.4") ||
		!slices.Equal(f.Checks, []string{"dns.gateway", "outbound.sql", "outbound.storage.blob"}) {
		t.Errorf("%+v", f)
	}
	if !strings.Contains(f.Cause, "Azure DNS (168.63.129.16) answers them") || len(f.Fix.Commands) == 0 ||
		!strings.Contains(f.Fix.Commands[1], "--resource-group rg-apim") {
		t.Errorf("cause %q fix %+v", f.Cause, f.Fix)
	}
	none(t, fs, IDResolverNoFwd)
	if len(fs) != 1 {
		t.Errorf("one cause, %d findings: %+v", len(fs), fs)
	}
}

func TestResolverSilentNotForOneName(t *testing.T) {
	// One name timing out is that check's business, not the server's.
	fs := diagnose(t, dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.1"), pass(sql))
	none(t, fs, IDResolverSilent)
	// Many names failing for another reason (a TCP timeout) do not make the
	// resolver silent even when its lookups are recorded as fine.
	r1 := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	r1.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonOK}}
	fs = diagnose(t, out(blob, r1), out(table, r1))
	none(t, fs, IDResolverSilent)
}

func TestResolverNoForward(t *testing.T) {
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.1"),
		dnsFail(sql, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.2"),
		dnsFail(graph, probes.ReasonServFail, probes.ReasonServFail, "20.190.1.1"))
	f := only(t, fs, IDResolverNoFwd)
	if len(f.Checks) != 3 || f.Severity != report.SeverityBlocking || !strings.Contains(f.Cause, "NXDOMAIN or SERVFAIL") ||
		!strings.Contains(f.Fix.Summary, "168.63.129.16") {
		t.Errorf("%+v", f)
	}
	none(t, fs, IDResolverSilent)
}

func TestResolverNoForwardWithAzurePending(t *testing.T) {
	// The check's limit ended before Azure DNS answered: that name counts
	// with the failing ones, not with those Azure DNS resolves.
	pending := dnsFail(table, probes.ReasonNXDomain, probes.ReasonNXDomain, "x")
	pending.Result.Lookups = pending.Result.Lookups[:1]
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.1"),
		dnsFail(sql, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.2"), pending)
	if f := only(t, fs, IDResolverNoFwd); len(f.Checks) != 3 || f.Evidence["azure_dns_resolved"] != 2 ||
		!strings.Contains(f.Cause, "for 3 names, 2 of which Azure DNS (168.63.129.16) resolves (it had not answered") {
		t.Errorf("%+v", f)
	}
	// Never seen resolving any of them: no claim about forwarding.
	p2 := dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, "x")
	p2.Result.Lookups = p2.Result.Lookups[:1]
	none(t, diagnose(t, pending, p2), IDResolverNoFwd)
}

func TestResolverNoForwardNotWhenAzureDNSFailsToo(t *testing.T) {
	// The names do not exist anywhere: forwarding would not help.
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, ""),
		dnsFail(sql, probes.ReasonNXDomain, probes.ReasonNXDomain, ""))
	none(t, fs, IDResolverNoFwd)
}

// Both resolvers silent and nothing answering anywhere: one finding names
// them both, not one per server saying the same thing.
func TestNoServerAnswersOneFinding(t *testing.T) {
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, ""),
		dnsFail(sql, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, ""))
	f := only(t, fs, IDNoResolver)
	none(t, fs, IDResolverSilent)
	if !slices.Equal(f.Evidence["resolvers"].([]string), []string{vnetDNS, azureDNS}) || len(f.Checks) != 2 ||
		!strings.Contains(f.Title, "10.0.0.4 and 168.63.129.16") || len(fs) != 1 {
		t.Errorf("%+v", fs)
	}
}

// Without its premise, no all-servers finding: one server answers (Azure
// DNS resolves the names), or only one server is asked.
func TestNoServerAnswersSilentWithoutItsPremise(t *testing.T) {
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.1"),
		dnsFail(sql, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.2"))
	none(t, fs, IDNoResolver)
	only(t, fs, IDResolverSilent)
	one := func(o probes.Outcome) probes.Outcome { o.Result.Lookups = o.Result.Lookups[:1]; return o }
	fs = diagnose(t, one(dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "")),
		one(dnsFail(sql, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "")))
	none(t, fs, IDNoResolver)
	only(t, fs, IDResolverSilent)
}

func TestZoneNotLinked(t *testing.T) {
	r := probes.Failf(probes.ReasonPublicAnswer, probes.PhaseDNS, "public")
	r.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonOK, Addrs: []string{"20.1.2.3"}}}
	in := probes.Failf(probes.ReasonTLSNameMismatch, probes.PhaseTLS, "wrong certificate")
	fs := diagnose(t, out(gwDNS, r), out(gwIn, in), out(sql, probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "drop")))
	f := only(t, fs, IDZoneNotLinked)
	if !slices.Equal(f.Checks, []string{"dns.gateway", "inbound.gateway"}) || !strings.Contains(f.Cause, "20.1.2.3") ||
		!strings.Contains(f.Cause, "10.0.1.5") || !strings.Contains(f.Fix.Commands[0], "--zone-name contoso.azure-api.net") {
		t.Errorf("%+v", f)
	}
}

func TestZoneNotLinkedNotForPrivateEndpoints(t *testing.T) {
	// A storage private endpoint answered publicly is not the instance's zone.
	r := probes.Failf(probes.ReasonPublicAnswer, probes.PhaseResolve, "public")
	fs := diagnose(t, out(blob, r), pass(gwDNS))
	none(t, fs, IDZoneNotLinked)
}

func TestZoneSwallows(t *testing.T) {
	zs := probes.Check{ID: "dns.zone-scope", Kind: probes.KindDNS, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleZoneScope}, Target: probes.Name("azure-api.net")}
	r := probes.Warnf(probes.ReasonWrongAnswer, probes.PhaseDNS, "swallowed")
	r.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonNXDomain}, {Server: azureDNS, Azure: true, Outcome: probes.ReasonOK}}
	f := only(t, diagnose(t, out(zs, r)), IDZoneSwallows)
	if f.Severity != report.SeverityDegrading || !strings.Contains(f.Cause, "10.0.0.4") {
		t.Errorf("%+v", f)
	}
	none(t, diagnose(t, pass(zs)), IDZoneSwallows)
}

func nsgFlow(id string, port int, dest, rule string, prio int) probes.Outcome {
	r := probes.Failf(probes.ReasonNSGRule, probes.PhaseAnalysis, "denied")
	r.Rule = &probes.RuleSeen{GroupID: "/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-apim",
		Group: "nsg-apim", Name: rule, Priority: prio, Access: "Deny",
		Direction: "Outbound", Protocol: "Tcp", Port: port, Source: "VirtualNetwork", Destination: dest}
	return out(probes.Check{ID: id, Kind: probes.KindAnalysis, Required: true}, r)
}

func TestNSGRuleNamedOnce(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer to SYN")
	fs := diagnose(t,
		nsgFlow("subnet.nsg.outbound-storage-443", 443, "Storage.westeurope", "deny-azure", 300),
		nsgFlow("subnet.nsg.outbound-sql-1433", 1433, "Sql.westeurope", "deny-azure", 300),
		out(blob, drop), out(sql, drop), out(kv, drop))
	f := only(t, fs, IDNSGRule)
	want := []string{"outbound.sql", "outbound.storage.blob", "subnet.nsg.outbound-sql-1433", "subnet.nsg.outbound-storage-443"}
	if !slices.Equal(f.Checks, want) {
		t.Errorf("checks %v, want %v (Key Vault is not denied by this rule)", f.Checks, want)
	}
	if len(f.Fix.Commands) != 2 || !strings.Contains(f.Fix.Commands[0], "--resource-group rg-net --nsg-name nsg-apim") ||
		!strings.Contains(f.Fix.Commands[0], "--priority 299") || !strings.Contains(f.Fix.Commands[1], "--priority 298") ||
		!strings.Contains(f.Fix.Commands[1], "--destination-address-prefixes Sql.westeurope --destination-port-ranges 1433") {
		t.Errorf("commands %q", f.Fix.Commands)
	}
}

func TestNSGTwoRulesTwoFindings(t *testing.T) {
	fs := diagnose(t,
		nsgFlow("subnet.nsg.outbound-storage-443", 443, "Storage", "deny-storage", 300),
		nsgFlow("subnet.nsg.outbound-sql-1433", 1433, "Sql", "deny-sql", 310))
	n := 0
	for _, f := range fs {
		if f.ID == IDNSGRule {
			n++
			if len(f.Checks) != 1 {
				t.Errorf("%+v", f)
			}
		}
	}
	if n != 2 {
		t.Errorf("two unrelated rules are two findings, got %d: %+v", n, fs)
	}
}

func TestNoEgress(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	egress := probes.Check{ID: "route.egress-ip", Kind: probes.KindHTTP, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}, Target: probes.HostPort("echo.example", 443)}
	fs := diagnose(t, out(blob, drop), out(sql, drop), out(kv, drop), out(graph, drop),
		out(egress, probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")))
	f := only(t, fs, IDNoEgress)
	if len(f.Checks) != 5 || f.Severity != report.SeverityBlocking || !strings.Contains(f.Fix.Commands[1], "nat gateway create") {
		t.Errorf("%+v", f)
	}
	none(t, fs, IDTagDropped)
}

func TestNoEgressNotWhenOneGetsOut(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	fs := diagnose(t, out(blob, drop), out(table, drop), out(sql, drop), pass(kv))
	none(t, fs, IDNoEgress)
	none(t, fs, IDConnDropped)
	// Storage and SQL time out while Key Vault gets through: the tags'.
	var storage report.Finding
	for _, f := range fs {
		if f.ID == IDTagDropped && strings.Contains(f.Title, "Storage") {
			storage = f
		}
	}
	if !slices.Equal(storage.Checks, []string{"outbound.storage.blob", "outbound.storage.table"}) ||
		len(storage.Fix.Commands) != 1 || !strings.Contains(storage.Fix.Commands[0], "--nsg-name <nsg> --name Allow-Storage-443 --priority <priority>") {
		t.Errorf("%+v", fs)
	}
}

// sql-drop: one dependency timing out while the others get through names
// its tag; with no sibling through, or one of its own tag through on the
// same port, the tag is not the cause.
func TestTagDroppedNeedsSiblingsThrough(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	// The name resolved: the DNS server's answer is no answer to the
	// connection.
	drop.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonOK, Addrs: []string{"20.1.2.3"}}}
	f := only(t, diagnose(t, out(sql, drop), pass(blob), pass(kv)), IDTagDropped)
	if !slices.Equal(f.Checks, []string{"outbound.sql"}) || !strings.Contains(f.Cause, "1 dependency behind service tag Sql gets no answer on TCP 1433") {
		t.Errorf("%+v", f)
	}
	none(t, diagnose(t, out(sql, drop)), IDTagDropped)
	none(t, diagnose(t, out(blob, drop), pass(table), pass(kv)), IDTagDropped)
}

func pathWarn(family, appliance string) probes.Outcome {
	r := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, "appliance")
	r.Appliance = appliance
	return out(probes.Check{ID: "route.path." + family, Kind: probes.KindPath, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RolePathTrace, Dependency: probes.Dependency(family)}, Target: probes.HostPort(family+".example", 443)}, r)
}

func TestApplianceOnPath(t *testing.T) {
	eg := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, "egress")
	eg.EgressIP = "203.0.113.7"
	mr := probes.Failf(probes.ReasonAsymmetricRoute, probes.PhaseAnalysis, "asymmetric")
	fs := Diagnose(Input{Outcomes: []probes.Outcome{
		pathWarn("storage", "10.0.0.4"), pathWarn("sql", "10.0.0.4"), pathWarn("keyvault", "10.0.0.4"),
		out(probes.Check{ID: "route.egress-ip", Kind: probes.KindHTTP, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}}, eg),
		out(probes.Check{ID: "route.management-return", Kind: probes.KindAnalysis, Required: true, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleManagementReturn}}, mr),
	}, Context: report.Context{Mode: probes.ModeInternal, ResourceGroup: "rg"},
		Azure: Azure{RouteTableID: "/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt-apim"}})
	f := only(t, fs, IDAppliance)
	if len(f.Checks) != 5 || f.Severity != report.SeverityBlocking || !strings.Contains(f.Cause, "203.0.113.7") ||
		!strings.Contains(f.Cause, "no ApiManagement → Internet route") {
		t.Errorf("%+v", f)
	}
	if !strings.Contains(f.Fix.Commands[0], "--resource-group rg-net --route-table-name rt-apim --name ApiManagement --address-prefix ApiManagement --next-hop-type Internet") {
		t.Errorf("%q", f.Fix.Commands)
	}
	none(t, fs, IDForcedTunnel)
}

func TestApplianceNotWithoutOne(t *testing.T) {
	// Paths that reached their hosts directly: nothing to say.
	p := probes.Passf("direct")
	fs := diagnose(t, out(probes.Check{ID: "route.path.storage", Kind: probes.KindPath, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RolePathTrace, Dependency: probes.DepStorage}}, p))
	none(t, fs, IDAppliance)
	// Two appliances are two findings.
	fs = diagnose(t, pathWarn("storage", "10.0.0.4"), pathWarn("sql", "10.0.9.9"))
	n := 0
	for _, f := range fs {
		if f.ID == IDAppliance {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d appliance findings: %+v", n, fs)
	}
}

func TestForcedTunnelByEgressAlone(t *testing.T) {
	eg := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, "egress")
	eg.EgressIP = "203.0.113.7"
	c := probes.Check{ID: "route.egress-ip", Kind: probes.KindHTTP, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}}
	f := only(t, diagnose(t, out(c, eg)), IDForcedTunnel)
	if f.Severity != report.SeverityDegrading || !strings.Contains(f.Title, "203.0.113.7") {
		t.Errorf("%+v", f)
	}
	none(t, diagnose(t, pass(c)), IDForcedTunnel)
}

func intercepted(c probes.Check, issuer string, status probes.Status) probes.Outcome {
	r := probes.Result{Status: status, Reason: probes.ReasonTLSIntercepted, FailedPhase: probes.PhaseTLS}
	r.Cert = &probes.CertSeen{Issuer: issuer, Root: issuer + " Root", Intercepted: true}
	return out(c, r)
}

func TestTLSInspection(t *testing.T) {
	sum := probes.Check{ID: "tls.interception", Kind: probes.KindAnalysis, Required: true, Facets: probes.Facets{Area: probes.AreaTLS, Role: probes.RoleInterception}}
	fs := diagnose(t,
		intercepted(kv, "CN=Fw CA,O=x", probes.Fail), intercepted(graph, "CN=Fw CA,O=x", probes.Warn),
		out(sum, probes.Failf(probes.ReasonTLSIntercepted, probes.PhaseAnalysis, "2 hosts")))
	f := only(t, fs, IDTLSInspection)
	if len(f.Checks) != 3 || f.Severity != report.SeverityBlocking || !strings.Contains(f.Title, "Fw CA") {
		t.Errorf("%+v", f)
	}
}

func TestTLSInspectionNotForOneHostOrGenuine(t *testing.T) {
	fs := diagnose(t, intercepted(kv, "CN=Fw CA", probes.Fail), pass(graph))
	none(t, fs, IDTLSInspection)
	// Two CAs, one host each: no common CA.
	fs = diagnose(t, intercepted(kv, "CN=A", probes.Fail), intercepted(graph, "CN=B", probes.Warn))
	none(t, fs, IDTLSInspection)
}

func TestResourceManagerUnreadable(t *testing.T) {
	skip := func(id, perm string) probes.Outcome {
		r := probes.Skipf(probes.ReasonNotObservable, "Resource Manager is not used (--no-arm)", "hint")
		r.NeedsARM = &probes.ARMNeed{Why: "Resource Manager is not used (--no-arm)", Permission: perm, Command: "az …", Disabled: true}
		return out(probes.Check{ID: id, Kind: probes.KindAnalysis, Required: true}, r)
	}
	fs := diagnose(t, skip("route.forced-tunnel", "Microsoft.Network/networkInterfaces/effectiveRouteTable/action"),
		skip("subnet.nsg.inbound-3443", "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"),
		skip("subnet.config", "Microsoft.Network/virtualNetworks/subnets/read"),
		out(probes.Check{ID: "subnet.nsg.inbound-443"}, probes.Skipf(probes.ReasonNotApplicable, "external only", "")))
	f := only(t, fs, IDResourceManager)
	if f.Severity != report.SeverityInfo || len(f.Checks) != 3 || !strings.Contains(f.Fix.Summary, "without --no-arm") ||
		!strings.Contains(f.Fix.Commands[1], "/subscriptions/sub-1/resourceGroups/rg-apim") ||
		!strings.Contains(f.Fix.Commands[0], "effectiveRouteTable/action") {
		t.Errorf("%+v", f)
	}
	none(t, diagnose(t, pass(kv)), IDResourceManager)
}

// When Resource Manager never answered, the finding sends the operator to
// the network first: no role assignment can help a request that did not
// arrive.
func TestResourceManagerThatDidNotAnswer(t *testing.T) {
	skip := func(id, why, reach string) probes.Outcome {
		r := probes.Skipf(probes.ReasonNotObservable, why, "hint")
		r.NeedsARM = &probes.ARMNeed{Why: why, Permission: "Microsoft.Network/virtualNetworks/subnets/read", Command: "az …", Unreachable: reach}
		if i := strings.Index(why, "no answer"); reach != "" && i >= 0 {
			r.NeedsARM.NoAnswer = why[i:]
		}
		return out(probes.Check{ID: id, Kind: probes.KindAnalysis, Required: true}, r)
	}
	const words = "got no answer from Resource Manager (nxdomain): name management.azure.com does not exist"
	fs := diagnose(t, skip("subnet.config", "subnet read: not made: the vm read "+words, "management.azure.com on TCP 443"),
		skip("subnet.free", "subnet read: not made: the vm read "+words, "management.azure.com on TCP 443"))
	f := only(t, fs, IDResourceManager)
	if !strings.Contains(f.Title, "did not answer this VM") || !strings.HasPrefix(f.Cause, "Requests to management.azure.com on TCP 443 got no answer from Resource Manager (nxdomain)") ||
		!strings.HasPrefix(f.Fix.Summary, "Let this VM resolve and reach management.azure.com on TCP 443") || len(f.Fix.Commands) != 3 {
		t.Errorf("%+v", f)
	}
	// A denial is still a matter of permissions.
	f = only(t, diagnose(t, skip("subnet.config", "subnet read denied (HTTP 403 AuthorizationFailed)", "")), IDResourceManager)
	if !strings.HasPrefix(f.Fix.Summary, "Give the identity apimprobe uses Reader") || strings.Contains(f.Title, "did not answer") {
		t.Errorf("%+v", f)
	}
}

func TestTwoUnrelatedFailuresTwoFindings(t *testing.T) {
	// A silent resolver and an NSG rule: two causes, named apart, the most
	// severe first.
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.1"),
		dnsFail(table, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.60.1.2"),
		nsgFlow("subnet.nsg.outbound-sql-1433", 1433, "Sql", "deny-sql", 300),
		intercepted(graph, "CN=A", probes.Warn))
	var got []string
	for _, f := range fs {
		got = append(got, f.ID)
	}
	if !slices.Equal(got, []string{IDResolverSilent, IDNSGRule}) {
		t.Errorf("findings %v", got)
	}
	if ex := Explained(fs); ex["outbound.graph.metadata"] || !ex["outbound.storage.table"] {
		t.Errorf("explained %v", ex)
	}
}

func BenchmarkDiagnose200(b *testing.B) {
	var os []probes.Outcome
	for i := 0; i < 200; i++ {
		c := dialCheck(fmt.Sprintf("outbound.x%03d", i), fmt.Sprintf("h%d.example", i), 443, "Storage", i%2 == 0)
		os = append(os, dnsFail(c, probes.ReasonDNSTimeout, probes.ReasonDNSTimeout, "20.0.0.1"))
	}
	in := Input{Outcomes: os, APIMSuffix: "azure-api.net"}
	b.ReportAllocs()
	for b.Loop() {
		Diagnose(in)
	}
}

// With no token, the fix depends on the credential: an identity for the
// VM, or az login.
func TestResourceManagerWithoutAToken(t *testing.T) {
	skip := func(cred string) probes.Outcome {
		why := "no Resource Manager token from the " + cred + " credential: HTTP 400: Identity not found"
		r := probes.Skipf(probes.ReasonNotObservable, why, "hint")
		r.NeedsARM = &probes.ARMNeed{Why: why, Permission: "Microsoft.Network/virtualNetworks/subnets/read", Command: "az …", Disabled: true, NoToken: cred}
		return out(probes.Check{ID: "subnet.config", Kind: probes.KindAnalysis, Required: true}, r)
	}
	f := only(t, diagnose(t, skip("managed-identity")), IDResourceManager)
	if !strings.HasPrefix(f.Title, "No Resource Manager token") || !strings.Contains(f.Fix.Summary, "az vm identity assign -g rg-apim -n <vm>") ||
		!strings.Contains(f.Fix.Summary, "--identity-client-id") || !strings.Contains(f.Cause, "Identity not found") {
		t.Errorf("managed identity: %+v", f)
	}
	f = only(t, diagnose(t, skip("azure-cli")), IDResourceManager)
	if !strings.HasPrefix(f.Fix.Summary, "Sign in with az login") {
		t.Errorf("azure-cli: %+v", f)
	}
}

// Azure DNS's answers are counted by name, not by check: a name that two
// checks dial (two ports) is one name of those it was seen to resolve.
func TestResolverNoForwardCountsNames(t *testing.T) {
	blob2 := blob
	blob2.ID, blob2.Target.Port = blob.ID+".second-port", 445
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.1"),
		dnsFail(blob2, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.1"),
		dnsFail(sql, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.2"))
	f := only(t, fs, IDResolverNoFwd)
	if !strings.Contains(f.Cause, "for 2 names that Azure DNS (168.63.129.16) resolves:") || f.Evidence["azure_dns_resolved"] != 2 || len(f.Checks) != 3 {
		t.Errorf("%s %v", f.Cause, f.Evidence)
	}
}

// The rules select on a check's facets, never on its id: a check of the
// egress echo's role is read as one whatever its id, and the id alone
// makes nothing.
func TestRulesSelectOnFacetsNotIDs(t *testing.T) {
	r := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, "left from 203.0.113.9")
	r.EgressIP = "203.0.113.9"
	echo := probes.Check{ID: "custom.echo", Kind: probes.KindHTTP, Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}}
	only(t, diagnose(t, out(echo, r)), IDForcedTunnel)
	none(t, diagnose(t, out(probes.Check{ID: "route.egress-ip", Kind: probes.KindHTTP}, r)), IDForcedTunnel)
}

// unreachable is a dial check whose name could not be looked up: every
// server answered network unreachable.
func unreachable(c probes.Check) probes.Outcome {
	r := probes.Failf(probes.ReasonUnreachable, probes.PhaseResolve, "network unreachable")
	r.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonUnreachable}, {Server: azureDNS, Azure: true, Outcome: probes.ReasonUnreachable}}
	return out(c, r)
}

// No network at all (unshare -n): one finding explains every failure, DNS
// included, and no zone is concluded from servers that never answered.
func TestNoNetwork(t *testing.T) {
	zs := probes.Check{ID: "dns.zone-scope", Kind: probes.KindDNS, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleZoneScope}, Target: probes.Name("azure-api.net")}
	zr := probes.Failf(probes.ReasonUnreachable, probes.PhaseDNS, "no DNS server answered")
	zr.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonUnreachable}}
	unread := probes.Skipf(probes.ReasonNotObservable, "not on an Azure VM", "")
	unread.NeedsARM = &probes.ARMNeed{Why: "not running in Azure", Permission: "Microsoft.Network/virtualNetworks/subnets/read"}
	cfg := probes.Check{ID: "subnet.config", Kind: probes.KindAnalysis, Required: true, Facets: probes.Facets{Area: probes.AreaSubnet, Role: probes.RoleSubnetConfig}}
	fs := diagnose(t, unreachable(blob), unreachable(sql), unreachable(kv), unreachable(gwDNS), out(zs, zr), out(cfg, unread))
	f := only(t, fs, IDNoNetwork)
	// Resource Manager's skips follow from it too: no permission finding.
	if len(fs) != 1 || len(f.Checks) != 6 || f.Severity != report.SeverityBlocking || !strings.Contains(f.Cause, "10.0.0.4") ||
		!strings.Contains(f.Cause, "1 analysis could not be judged") {
		t.Errorf("%+v", fs)
	}
	none(t, fs, IDZoneSwallows)
	if c := Coverage(reportChecks(blob, sql, kv, gwDNS, zs), fs); c.Ratio() != 1 {
		t.Errorf("coverage %v", c)
	}
}

// Without its premise (one thing answered), the network is not the cause.
func TestNoNetworkSilentWithoutItsPremise(t *testing.T) {
	none(t, diagnose(t, unreachable(blob), unreachable(sql), unreachable(kv), pass(graph)), IDNoNetwork)
	none(t, diagnose(t, unreachable(blob), unreachable(sql)), IDNoNetwork) // too few to say
	refused := probes.Failf(probes.ReasonRefused, probes.PhaseConnect, "refused")
	none(t, diagnose(t, unreachable(blob), unreachable(sql), unreachable(table), out(kv, refused)), IDNoNetwork)
}

func ntpCheck() probes.Check {
	return probes.Check{ID: "outbound.infra.ntp", Kind: probes.KindNTP, Target: probes.HostPort("time.windows.com", 123), Required: true,
		Facets: probes.Facets{Area: probes.AreaOutbound, ServiceTag: "Internet", Protocol: probes.ProtoUDP}}
}

// Every outbound TCP connection dropped while DNS answers and UDP gets
// through: one finding names the protocol, not one per service tag.
func TestConnectionsDropped(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	fs := diagnose(t, out(blob, drop), out(table, drop), out(sql, drop), out(kv, drop), out(graph, drop), pass(ntpCheck()))
	f := only(t, fs, IDConnDropped)
	if len(fs) != 1 || len(f.Checks) != 5 || !strings.Contains(f.Title, "Every outbound TCP connection") ||
		!strings.Contains(f.Cause, "UDP gets through") || !strings.Contains(f.Cause, "DNS answers") {
		t.Errorf("%+v", fs)
	}
	none(t, fs, IDTagDropped)
	none(t, fs, IDNoEgress)
}

// Without its premise: one TCP connection gets through, or all the
// failures sit behind one tag.
func TestConnectionsDroppedSilentWithoutItsPremise(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	none(t, diagnose(t, out(blob, drop), out(sql, drop), out(kv, drop), pass(graph), pass(ntpCheck())), IDConnDropped)
	none(t, diagnose(t, out(blob, drop), out(table, drop), dialCheckOut("outbound.storage.queue", "Storage", drop), pass(ntpCheck())), IDConnDropped)
}

func dialCheckOut(id, tag string, r probes.Result) probes.Outcome {
	return out(dialCheck(id, strings.ReplaceAll(id, ".", "-")+".example", 443, tag, true), r)
}

// A failure whose siblings pass is its own cause: the finding says so with
// the check's words and fix; among failures of every kind, it is not alone.
func TestAlone(t *testing.T) {
	r := probes.Failf(probes.ReasonRefused, probes.PhaseConnect, "refused by 20.1.2.3")
	r.Hint = "Allow it."
	fs := diagnose(t, out(kv, r), pass(blob))
	f := only(t, fs, IDAlone)
	if !slices.Equal(f.Checks, []string{"outbound.keyvault"}) || f.Cause != "refused by 20.1.2.3" || f.Fix.Summary != "Allow it." {
		t.Errorf("%+v", f)
	}
	only(t, diagnose(t, out(kv, r), pass(ntpCheck())), IDAlone)
	// Nothing else got through: no finding from absence.
	none(t, diagnose(t, out(kv, r)), IDAlone)
	skipped := probes.Skipf(probes.ReasonNoData, "no name", "")
	none(t, diagnose(t, out(kv, r), out(blob, skipped)), IDAlone)
}

// The zone rule needs a server that answered with a zone.
func TestZoneSwallowsSilentWithoutAnAnswer(t *testing.T) {
	zs := probes.Check{ID: "dns.zone-scope", Kind: probes.KindDNS, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleZoneScope}, Target: probes.Name("azure-api.net")}
	r := probes.Failf(probes.ReasonDNSTimeout, probes.PhaseDNS, "no DNS server answered")
	r.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonDNSTimeout}, {Server: azureDNS, Azure: true, Outcome: probes.ReasonDNSTimeout}}
	none(t, diagnose(t, out(zs, r)), IDZoneSwallows)
	w := probes.Warnf(probes.ReasonWrongAnswer, probes.PhaseDNS, "swallowed")
	w.Lookups = []probes.Lookup{{Server: azureDNS, Azure: true, Outcome: probes.ReasonOK}}
	none(t, diagnose(t, out(zs, w)), IDZoneSwallows)
}

// The headline cause is the finding that explains the most required
// failures, whatever the order the rules ran in.
func TestRankedByRequiredFailures(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	mon := func(id string, req bool) probes.Outcome {
		return out(dialCheck("outbound.monitor."+id, id+".example", 443, "AzureMonitor", req), drop)
	}
	sql2 := dialCheck("outbound.sql.second", "srv2.database.windows.net", 1433, "Sql", true)
	fs := diagnose(t, mon("a", true), mon("b", false), mon("c", false), mon("d", false),
		out(sql, drop), out(sql2, drop), pass(kv), pass(blob))
	if len(fs) != 2 || !strings.Contains(fs[0].Title, "Sql") || len(fs[1].Checks) != 4 {
		t.Errorf("the finding of 2 required failures must come before the one of 4 checks and 1 required: %+v", fs)
	}
}

func TestCoverage(t *testing.T) {
	checks := []report.Check{
		{ID: "a", Status: probes.Fail, Required: true}, {ID: "b", Status: probes.Warn}, {ID: "c", Status: probes.Pass},
		{ID: "d", Status: probes.Fail, Required: true},
	}
	c := Coverage(checks, []report.Finding{{Checks: []string{"a", "b"}}})
	if c.Bad != 3 || c.Explained != 2 || c.Required != 2 || c.RequiredExplained != 1 || c.RequiredRatio() != 0.5 {
		t.Errorf("%+v", c)
	}
	if c := Coverage(checks[2:3], nil); c.Ratio() != 1 {
		t.Errorf("nothing failed: %v", c)
	}
}

func reportChecks(cs ...probes.Check) []report.Check {
	var out []report.Check
	for _, c := range cs {
		out = append(out, report.Check{ID: c.ID, Status: probes.Fail, Required: c.Required})
	}
	return out
}

// A server that forwards nothing answers NXDOMAIN for the zone check's
// name as for every other: that follows from its not forwarding, and no
// zone is concluded from it.
func TestNoForwardFoldsTheZoneCheck(t *testing.T) {
	zs := probes.Check{ID: "dns.zone-scope", Kind: probes.KindDNS, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleZoneScope}, Target: probes.Name("azure-api.net")}
	w := probes.Warnf(probes.ReasonWrongAnswer, probes.PhaseDNS, "swallowed")
	w.Lookups = []probes.Lookup{{Server: vnetDNS, Outcome: probes.ReasonNXDomain}, {Server: azureDNS, Azure: true, Outcome: probes.ReasonOK}}
	fs := diagnose(t,
		dnsFail(blob, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.1"),
		dnsFail(sql, probes.ReasonNXDomain, probes.ReasonNXDomain, "20.60.1.2"), out(zs, w))
	none(t, fs, IDZoneSwallows)
	if f := only(t, fs, IDResolverNoFwd); !slices.Contains(f.Checks, "dns.zone-scope") {
		t.Errorf("%+v", f)
	}
}

// A check that failed on an error of apimprobe's own got no answer from
// the network: it does not show the protocol getting through.
func TestConnectionsDroppedNotUndoneByAnError(t *testing.T) {
	drop := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	fs := diagnose(t, out(blob, drop), out(table, drop), out(sql, drop), out(graph, drop),
		out(kv, probes.Failf(probes.ReasonError, probes.PhaseConnect, "unexpected error")), pass(ntpCheck()))
	if f := only(t, fs, IDConnDropped); len(f.Checks) != 4 {
		t.Errorf("%+v", f)
	}
}

// The NSG rule finding needs a rule seen denying: a flow decided by an
// allow rule, or a failure without a rule, is no premise.
func TestNSGRuleSilentWithoutADeny(t *testing.T) {
	allowed := nsgFlow("subnet.nsg.outbound-storage-443", 443, "Storage", "AllowStorage", 200)
	allowed.Result.Rule.Access = "Allow"
	none(t, diagnose(t, allowed), IDNSGRule)
	ruleless := nsgFlow("subnet.nsg.outbound-sql-1433", 1433, "Sql", "DenyAll", 4000)
	ruleless.Result.Rule = nil
	none(t, diagnose(t, ruleless), IDNSGRule)
}

// A token Resource Manager refused (401) is fixed by the token, never by a
// role; a denied read's custom role holds every action the tool uses.
func TestResourceManagerRefusedTokenAndWholeRole(t *testing.T) {
	all := []string{"Microsoft.Network/networkInterfaces/effectiveRouteTable/action", "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action", "Microsoft.ApiManagement/service/read"}
	skip := func(id string, n probes.ARMNeed) probes.Outcome {
		r := probes.Skipf(probes.ReasonNotObservable, n.Why, "hint")
		n.RoleActions = all
		r.NeedsARM = &n
		return out(probes.Check{ID: id, Kind: probes.KindAnalysis, Required: true}, r)
	}
	fix := "Get the token from the subscription's tenant (72f988bf-86f1-41af-91ab-2d7cd011db47): with --arm-credential azure-cli, `az login --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47`. No role assignment fixes a 401"
	f := only(t, diagnose(t, skip("route.forced-tunnel", probes.ARMNeed{Why: "vm read rejected", Permission: all[0], Command: "az …",
		Rejected: "InvalidAuthenticationTokenTenant", TokenFix: fix})), IDResourceManager)
	if !strings.Contains(f.Title, "InvalidAuthenticationTokenTenant") || !strings.Contains(f.Fix.Summary, "az login --tenant 72f988bf") || len(f.Fix.Commands) != 0 {
		t.Errorf("refused token: %+v", f)
	}
	// 403 on one read: the custom role holds every action, not only the
	// one this run missed.
	f = only(t, diagnose(t, skip("route.forced-tunnel", probes.ARMNeed{Why: "denied", Permission: all[0], Command: "az …"})), IDResourceManager)
	for _, a := range all {
		if !strings.Contains(f.Fix.Commands[0], a) {
			t.Errorf("the custom role lacks %s: %s", a, f.Fix.Commands[0])
		}
	}
}

// A --mode the instance contradicts explains the DNS and inbound failures
// that follow from it, in one finding; outbound failures stay their own.
func TestModeMismatchExplainsDNSAndInbound(t *testing.T) {
	mode := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, "the instance is internal (virtualNetworkType Internal, SKU Developer); --mode says external")
	mode.Hint = "Run again with --mode internal, or without --mode to take the instance's own."
	gwRes := probes.Failf(probes.ReasonWrongAnswer, probes.PhaseDNS, "contoso.azure-api.net: 10.0.0.5 is private; external mode answers with the public VIP")
	inRes := probes.Failf(probes.ReasonTimeout, probes.PhaseConnect, "no answer")
	fs := diagnose(t,
		out(probes.Check{ID: "instance.mode", Required: true, Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceMode}}, mode),
		out(probes.Check{ID: "dns.gateway", Required: true, Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleName}}, gwRes),
		out(probes.Check{ID: "inbound.gateway", Required: true, Facets: probes.Facets{Area: probes.AreaInbound}}, inRes))
	f := only(t, fs, IDModeMismatch)
	if f.Severity != report.SeverityBlocking || len(f.Checks) != 3 || !strings.Contains(f.Cause, "--mode says external") || !strings.Contains(f.Fix.Summary, "--mode internal") {
		t.Errorf("%+v", f)
	}
	none(t, diagnose(t, out(probes.Check{ID: "dns.gateway", Facets: probes.Facets{Area: probes.AreaDNS, Role: probes.RoleName}}, gwRes)), IDModeMismatch)
}

// nicDenied is a dial check whose flow the NSG on this VM's NIC alone
// denied (annotated by the run): a warning, or a failure the instance
// shares.
func nicDenied(c probes.Check, st probes.Status, addr string) probes.Outcome {
	r := probes.Warnf(probes.ReasonTimeout, probes.PhaseConnect, "no answer to TCP SYN [the failure is this VM's, not the subnet's]")
	r.Status = st
	r.Rule = &probes.RuleSeen{NIC: true, GroupID: "/subscriptions/s/resourceGroups/rg-jump/providers/Microsoft.Network/networkSecurityGroups/nsg-jump-nic",
		Group: "nsg-jump-nic", Name: "DenyOut", Priority: 300, Access: "Deny",
		Direction: "Outbound", Protocol: "tcp", Port: c.Target.Port, Source: "10.1.3.4/32", Destination: addr + "/32"}
	return out(c, r)
}

// The NIC's NSG is this VM's: one finding names it, apart from the
// subnet's NSG rules, and the subnet's finding does not take its flows.
func TestNICNSGIsThisVMs(t *testing.T) {
	fs := diagnose(t,
		nicDenied(kv, probes.Warn, "13.69.64.75"), nicDenied(blob, probes.Warn, "20.38.96.10"),
		nsgFlow("subnet.nsg.outbound-sql-1433", 1433, "Sql.westeurope", "deny-sql", 300),
		pass(table))
	f := only(t, fs, IDNICNSG)
	if !slices.Equal(f.Checks, []string{"outbound.keyvault", "outbound.storage.blob"}) || f.Severity != report.SeverityDegrading ||
		!strings.Contains(f.Title, "NSG nsg-jump-nic on this VM's NIC denies 2 flows the subnet allows") ||
		!strings.Contains(f.Cause, "API Management's machines are not behind this VM's NIC") ||
		len(f.Fix.Commands) != 2 || !strings.Contains(f.Fix.Commands[0], "--resource-group rg-jump --nsg-name nsg-jump-nic") ||
		!strings.Contains(f.Fix.Commands[0], "--priority 299") || !strings.Contains(f.Fix.Commands[1], "--priority 298") {
		t.Errorf("%+v", f)
	}
	if n := only(t, fs, IDNSGRule); !slices.Equal(n.Checks, []string{"subnet.nsg.outbound-sql-1433"}) {
		t.Errorf("the subnet's finding took %v", n.Checks)
	}
	none(t, fs, IDAlone)
	// Failed by the instance too: it blocks.
	if f := only(t, diagnose(t, nicDenied(kv, probes.Fail, "13.69.64.75"), pass(table)), IDNICNSG); f.Severity != report.SeverityBlocking ||
		strings.Contains(f.Title, "the failures are this VM's") || !strings.Contains(f.Cause, "so the failures stand") {
		t.Errorf("a failure that stands: %s %q %q", f.Severity, f.Title, f.Cause)
	}
}
