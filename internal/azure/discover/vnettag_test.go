package discover

import (
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// withConfiguredRule returns s with r first in the configured NSG.
func withConfiguredRule(s *snapshot.Snapshot, conf *snapshot.ConfiguredView, r nsg.Rule) {
	g := *conf.SubnetNSG
	g.Rules = append([]nsg.Rule{r}, g.Rules...)
	conf.SubnetNSG = &g
}

// DNS to a custom server in a peered hub, as a Reader sees it: the
// VirtualNetwork tag reaches the hub (azure-facts §12.2), so
// AllowVnetOutBound allows it; it was "denied by DenyAllOutBound".
func TestHubDNSUnderReader(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	conf.VNetDNSServers = addrs("10.0.0.4")
	conf.Peerings = []snapshot.Peering{{Name: "spoke-to-hub", State: "Connected", Remote: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}}
	res := runChecks(t, snapshot.Static{S: s}, o)
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-dns-53", "AllowVnetOutBound", "configured view of subnet snet-apim")

	// A peering not connected carries nothing: the server is outside.
	conf.Peerings[0].State = "Disconnected"
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Fail, probes.ReasonNSGRule, "DenyAllOutBound", "10.0.0.4/32")
}

// A server on-premises is in the VirtualNetwork tag only through the
// gateway's prefixes, which a plain GET cannot show: not a failure, a
// verdict not observable, with the command that lists the tag.
func TestOnPremisesDNSBehindAGateway(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	conf.VNetDNSServers = addrs("192.168.50.4")
	conf.Peerings = []snapshot.Peering{{Name: "spoke-to-hub", State: "Connected", UseRemoteGateways: true, Remote: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}}
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Skip, probes.ReasonNotObservable,
		"the prefixes the remote network's gateway learns", "az network nic list-effective-nsg", "DenyAllOutBound")
	if ev := res["subnet.nsg.outbound-dns-53"].Evidence; ev["configured_status"] != "fail" || ev["view"] != judge.ViewConfigured {
		t.Errorf("evidence %v", ev)
	}
	// What does not depend on the gateway is still decided.
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-3443", "AllowApimManagement")

	// Without a gateway the server is simply outside the tag.
	conf.Peerings[0].UseRemoteGateways = false
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Fail, probes.ReasonNSGRule, "DenyAllOutBound")

	// A user route's prefix is in the tag (a UDR 0.0.0.0/0 makes it
	// everything): AllowVnetOutBound then allows the server.
	conf.UDRs = []routes.Route{{Name: "to-fw", Source: "User", State: "Active", NextHopType: routes.HopVirtualAppliance,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, NextHopIPs: []string{"10.0.1.4"}}}
	res = runChecks(t, snapshot.Static{S: s}, o)
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-dns-53", "AllowVnetOutBound")
}

// A rule on AzureCloud is judged by its prefixes: it does not hold the
// global AzureActiveDirectory prefixes (azure-facts §12.9).
func TestConfiguredRulesByPrefixesNotNames(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	s.ServiceTags = servicetags.NewSet("test", "Public", "1", []*servicetags.Tag{
		{Name: "AzureCloud", Prefixes: []netip.Prefix{netip.MustParsePrefix("13.64.0.0/11"), netip.MustParsePrefix("20.0.0.0/9")}},
		{Name: "AzureActiveDirectory", Prefixes: []netip.Prefix{netip.MustParsePrefix("20.190.128.0/18"), netip.MustParsePrefix("40.126.0.0/18")}},
		{Name: "EventHub", Prefixes: []netip.Prefix{netip.MustParsePrefix("20.60.0.0/16")}},
		{Name: "EventHub.WestEurope", Region: "westeurope", Prefixes: []netip.Prefix{netip.MustParsePrefix("20.60.64.0/18")}},
	})
	cloud := nsg.Rule{Name: "securityRules/AllowAzureCloud", Priority: 3000, Direction: "Outbound", Access: "Allow", Protocol: "Tcp",
		SourcePorts: []string{"*"}, DestinationPorts: []string{"*"}, Sources: []string{"VirtualNetwork"}, Destinations: []string{"AzureCloud"}}
	withConfiguredRule(s, conf, cloud)
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.outbound-aad-443", probes.Warn, probes.ReasonNSGRule, "DenyInternetOut", "AzureActiveDirectory")
	// The regional EventHub tag lies inside AzureCloud: allowed on every port.
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-eventhub-5671-5672-443", "5671", "5672", "EventHub.WestEurope")
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-diagnostics-12000", "AllowAzureCloud")
	// NTP goes to the Internet, which the NSG denies.
	expect(t, res, "subnet.nsg.outbound-ntp-123", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "UDP 123")

	aad := cloud
	aad.Name, aad.Priority, aad.Destinations = "securityRules/AllowAAD", 2900, []string{"AzureActiveDirectory"}
	withConfiguredRule(s, conf, aad)
	res = runChecks(t, snapshot.Static{S: s}, o)
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-aad-443", "AllowAAD")
	for _, id := range []string{"subnet.nsg.outbound-aad-443", "subnet.nsg.outbound-ntp-123"} {
		var c probes.Check
		for _, ch := range judge.Checks(snapshot.Static{S: s}, o) {
			if ch.ID == id {
				c = ch
			}
		}
		if c.Facets.Role != probes.RoleNSGFlow || c.Facets.Dependency == probes.DepNone || c.Facets.Protocol == probes.ProtoNone {
			t.Errorf("%s facets %+v", id, c.Facets)
		}
	}
}

// A deny aimed at this VM's address, in the instance's subnet, does not
// touch the instance; one aimed at an address nothing else holds may.
func TestDenyOnAnotherResourceIsNotTheInstance(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	if s.NICPrivateIP != "10.1.2.4" {
		t.Fatalf("fixture NIC address %q", s.NICPrivateIP)
	}
	deny := func(addr string) nsg.Rule {
		return nsg.Rule{Name: "securityRules/DenyToHost", Priority: 90, Direction: "Inbound", Access: "Deny", Protocol: "*",
			SourcePorts: []string{"*"}, DestinationPorts: []string{"*"}, Sources: []string{"*"}, Destinations: []string{addr}}
	}
	base := conf.SubnetNSG
	withConfiguredRule(s, conf, deny("10.1.2.4"))
	res := runChecks(t, snapshot.Static{S: s}, o)
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-3443", "AllowApimManagement")
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-6390")
	conf.SubnetNSG = base
	withConfiguredRule(s, conf, deny("10.1.2.9"))
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.inbound-3443", probes.Fail, probes.ReasonNSGRule, "DenyToHost", "denies part of")
}
