package discover

import (
	"context"
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// fullSnapshot is the fixtures' snapshot, read through the fake Resource
// Manager.
func fullSnapshot(t *testing.T) (*snapshot.Snapshot, Options) {
	t.Helper()
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	return d.Wait(context.Background()), o
}

// withRule returns a copy of s whose subnet NSG has r first.
func withRule(s *snapshot.Snapshot, r nsg.Rule) *snapshot.Snapshot {
	c := *s
	c.NSGs = nil
	for _, g := range s.NSGs {
		if g.Scope == "subnet" {
			g.Rules = append([]nsg.Rule{r}, g.Rules...)
		}
		c.NSGs = append(c.NSGs, g)
	}
	return &c
}

func denyRule(name, dir, proto, port, src, dst string) nsg.Rule {
	return nsg.Rule{Name: "securityRules/" + name, Priority: 100, Direction: dir, Access: "Deny", Protocol: proto,
		SourcePorts: []string{"*"}, DestinationPorts: []string{port}, Sources: []string{src}, Destinations: []string{dst}}
}

// The reference's remaining flows (azure-facts §1.1), on the fixtures'
// effective NSG: defaults plus a DenyInternetOut at 4000.
func TestReferenceFlows(t *testing.T) {
	s, o := fullSnapshot(t)
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.vnet-redis-6380", probes.Pass, probes.ReasonOK, "Inbound TCP 6380", "Outbound TCP 6380")
	expect(t, res, "subnet.nsg.vnet-redis-6381-6383", probes.Pass, probes.ReasonOK, "TCP 6381-6383")
	expect(t, res, "subnet.nsg.vnet-ratelimit-4290", probes.Pass, probes.ReasonOK, "Inbound UDP 4290", "Outbound UDP 4290")
	expect(t, res, "subnet.nsg.inbound-lb-6391", probes.Pass, probes.ReasonOK)
	// Optional: a warning, not a failure.
	expect(t, res, "subnet.nsg.outbound-connectors-443", probes.Warn, probes.ReasonNSGRule, "DenyInternetOut", "AzureConnectors")
	expect(t, res, "subnet.nsg.inbound-trafficmanager-443", probes.Skip, probes.ReasonNotApplicable)
	// The fixture's virtual network has no custom DNS servers.
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Pass, probes.ReasonOK, "Azure-provided DNS")

	// A deny of one port inside the range.
	res = runChecks(t, snapshot.Static{S: withRule(s, denyRule("NoRedis2", "Inbound", "Tcp", "6382", "*", "*"))}, o)
	expect(t, res, "subnet.nsg.vnet-redis-6381-6383", probes.Warn, probes.ReasonNSGRule, "NoRedis2", "denies part of", "6381-6383")
	res = runChecks(t, snapshot.Static{S: withRule(s, denyRule("NoSync", "Outbound", "Udp", "4290", "*", "*"))}, o)
	expect(t, res, "subnet.nsg.vnet-ratelimit-4290", probes.Warn, probes.ReasonNSGRule, "NoSync", "Outbound UDP 4290")
	res = runChecks(t, snapshot.Static{S: withRule(s, denyRule("NoSyncTcp", "Outbound", "Tcp", "4290", "*", "*"))}, o)
	expect(t, res, "subnet.nsg.vnet-ratelimit-4290", probes.Pass, probes.ReasonOK)
}

func TestDNSFlowToTheConfiguredServers(t *testing.T) {
	s, o := fullSnapshot(t)
	c := *s
	conf := *s.Configured
	c.Configured = &conf
	conf.VNetDNSServers = []netip.Addr{netip.MustParseAddr("10.1.0.4")}
	res := runChecks(t, snapshot.Static{S: &c}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Pass, probes.ReasonOK, "Outbound UDP 53", "Outbound TCP 53", "AllowVnetOutBound")
	res = runChecks(t, snapshot.Static{S: withRule(&c, denyRule("NoDNSOverTCP", "Outbound", "Tcp", "53", "*", "*"))}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Fail, probes.ReasonNSGRule, "NoDNSOverTCP", "Outbound TCP 53")

	// A server outside the virtual network (across a VPN): no rule of the
	// fixture allows it.
	conf.VNetDNSServers = []netip.Addr{netip.MustParseAddr("192.0.2.53")}
	res = runChecks(t, snapshot.Static{S: &c}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Fail, probes.ReasonNSGRule, "192.0.2.53/32")

	// Without the virtual network's read, the servers the instance uses.
	conf.HaveVNet = false
	c.NetworkStatus = []snapshot.LocationStatus{{Location: "West Europe", DNSServers: []string{"168.63.129.16", "10.1.0.4"}}}
	res = runChecks(t, snapshot.Static{S: withRule(&c, denyRule("NoDNS", "Outbound", "Udp", "53", "*", "*"))}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Fail, probes.ReasonNSGRule, "NoDNS", "DNS servers 10.1.0.4 from the instance's NetworkStatus")
	c.NetworkStatus = nil
	res = runChecks(t, snapshot.Static{S: &c}, o)
	expect(t, res, "subnet.nsg.outbound-dns-53", probes.Skip, probes.ReasonNoData, "DNS servers are unknown")
}

// 6390 from the load balancer is not required for the Developer SKU (one
// unit) when Resource Manager shows the SKU.
func TestLoadBalancerFlowPerSKU(t *testing.T) {
	s, o := fullSnapshot(t)
	denied := withRule(s, denyRule("NoLB", "Inbound", "*", "6390", "AzureLoadBalancer", "*"))
	res := runChecks(t, snapshot.Static{S: denied}, o)
	expect(t, res, "subnet.nsg.inbound-6390", probes.Fail, probes.ReasonNSGRule, "NoLB")
	apim := *s.APIM
	apim.SKU = "Developer"
	denied.APIM = &apim
	res = runChecks(t, snapshot.Static{S: denied}, o)
	expect(t, res, "subnet.nsg.inbound-6390", probes.Warn, probes.ReasonNSGRule, "NoLB", "not required for the Developer SKU")
	denied.APIM = nil // unknown SKU: required
	res = runChecks(t, snapshot.Static{S: denied}, o)
	expect(t, res, "subnet.nsg.inbound-6390", probes.Fail, probes.ReasonNSGRule)
}

// Traffic Manager's 443 matters in external mode for a multi-region
// instance only.
func TestTrafficManagerFlowMultiRegion(t *testing.T) {
	s, o := fullSnapshot(t)
	o.Mode = probes.ModeExternal
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.nsg.inbound-trafficmanager-443", probes.Skip, probes.ReasonNotApplicable, "has one location")
	c := *s
	apim := *s.APIM
	apim.AdditionalLocations = []string{"North Europe"}
	c.APIM = &apim
	res = runChecks(t, snapshot.Static{S: &c}, o)
	expect(t, res, "subnet.nsg.inbound-trafficmanager-443", probes.Fail, probes.ReasonNSGRule, "AzureTrafficManager", "North Europe")
	c.APIM = nil
	res = runChecks(t, snapshot.Static{S: &c}, o)
	expect(t, res, "subnet.nsg.inbound-trafficmanager-443", probes.Warn, probes.ReasonNSGRule, "required only for a multi-region instance")
}
