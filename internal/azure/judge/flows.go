package judge

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// azureDNS is Azure-provided DNS, which NSGs do not filter.
var azureDNS = netip.MustParseAddr("168.63.129.16")

// moreFlows are the reference's remaining flows (azure-facts §1.1): DNS to
// the configured servers, Traffic Manager for multi-region, the machines'
// own health probe, the Redis caches and the rate-limit sync between units,
// and the managed connectors. It is a table, one entry per flow, longer
// than 80 lines because each flow is read as data, not as steps.
func moreFlows(mode probes.Mode, lb []netip.Prefix) []flowSpec {
	cl := classic(mode)
	v2na := "the v2 tiers do not need this flow in mode " + string(mode)
	both := func(proto string, port, hi int) func(*snapshot.Snapshot) ([]nsg.Flow, *probes.Result) {
		return func(s *snapshot.Snapshot) ([]nsg.Flow, *probes.Result) {
			vnet, sub := vnetEndpoint(s), subnetEndpoint(s)
			return []nsg.Flow{
				{Direction: "Inbound", Protocol: proto, Port: port, PortHi: hi, Source: vnet, Destination: instanceEndpoint(s), RequireAll: true},
				{Direction: "Outbound", Protocol: proto, Port: port, PortHi: hi, Source: sub, Destination: vnet, RequireAll: true},
			}, nil
		}
	}
	return []flowSpec{
		{id: "outbound-dns-53", title: "NSG: outbound 53 to the configured DNS servers", target: "VirtualNetwork → the virtual network's DNS servers UDP and TCP 53",
			why:      "the instance resolves every dependency through the DNS servers of its virtual network; custom servers (across a VPN too) must be reachable",
			lookFor:  "outbound allows for UDP and TCP 53 to each DNS server of the virtual network",
			required: true, applies: cl, naWhy: v2na, flows: dnsFlows, judge: dnsNote},
		{id: "inbound-trafficmanager-443", title: "NSG: inbound 443 from AzureTrafficManager", target: "AzureTrafficManager → VirtualNetwork TCP 443",
			why:      "Traffic Manager routes clients between the regions of a multi-region instance in external mode",
			lookFor:  "an inbound allow for TCP 443 from service tag AzureTrafficManager",
			required: true, applies: mode == probes.ModeExternal, naWhy: "only external mode takes traffic from Traffic Manager",
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Inbound", Protocol: "Tcp", Port: 443, Source: tagEndpoint(s, "AzureTrafficManager", false), Destination: instanceEndpoint(s), RequireAll: true}
			},
			judge: multiRegionOnly},
		{id: "inbound-lb-6391", title: "NSG: inbound 6391 from AzureLoadBalancer", target: "AzureLoadBalancer → VirtualNetwork TCP 6391",
			why: "Azure's load balancer monitors each machine's health on 6391", lookFor: "an inbound allow for TCP 6391 from service tag AzureLoadBalancer",
			applies: cl, naWhy: v2na,
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Inbound", Protocol: "Tcp", Port: 6391, Source: nsg.Endpoint{Tag: "AzureLoadBalancer", Prefixes: lb}, Destination: instanceEndpoint(s), RequireAll: true}
			}},
		{id: "vnet-redis-6380", title: "NSG: VirtualNetwork ↔ VirtualNetwork 6380 (external Redis cache)", target: "VirtualNetwork ↔ VirtualNetwork TCP 6380",
			why: "an external Azure Cache for Redis is reached on 6380", lookFor: "inbound and outbound allows for TCP 6380 between VirtualNetwork and VirtualNetwork",
			applies: cl, naWhy: v2na, flows: both("Tcp", 6380, 0)},
		{id: "vnet-redis-6381-6383", title: "NSG: VirtualNetwork ↔ VirtualNetwork 6381-6383 (internal cache)", target: "VirtualNetwork ↔ VirtualNetwork TCP 6381-6383",
			why: "the units of an instance share their internal Redis cache on 6381-6383", lookFor: "inbound and outbound allows for TCP 6381-6383 between VirtualNetwork and VirtualNetwork",
			applies: cl, naWhy: v2na, flows: both("Tcp", 6381, 6383)},
		{id: "vnet-ratelimit-4290", title: "NSG: VirtualNetwork ↔ VirtualNetwork UDP 4290 (rate-limit sync)", target: "VirtualNetwork ↔ VirtualNetwork UDP 4290",
			why: "the units synchronise rate-limit counters over UDP 4290", lookFor: "inbound and outbound allows for UDP 4290 between VirtualNetwork and VirtualNetwork",
			applies: cl, naWhy: v2na, flows: both("Udp", 4290, 0)},
		{id: "outbound-aad-443", title: "NSG: outbound 443 to AzureActiveDirectory", target: "VirtualNetwork → AzureActiveDirectory TCP 443",
			why:     "Microsoft Entra ID, Microsoft Graph and Key Vault authentication (optional in the reference)",
			lookFor: "an outbound allow for TCP 443 to service tag AzureActiveDirectory (AzureCloud does not hold all of it)",
			applies: cl, naWhy: v2na, dep: probes.DepEntra, tag: "AzureActiveDirectory", proto: probes.ProtoTCP,
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Outbound", Protocol: "Tcp", Port: 443, Source: subnetEndpoint(s), Destination: tagEndpoint(s, "AzureActiveDirectory", false), RequireAll: true}
			}},
		{id: "outbound-eventhub-5671-5672-443", title: "NSG: outbound 5671, 5672 and 443 to EventHub", target: "VirtualNetwork → EventHub TCP 5671, 5672, 443",
			why:     "the log-to-eventhub policy and Azure Monitor reach Event Hubs over AMQP (5671, 5672) and HTTPS (optional in the reference; the regional tag is allowed)",
			lookFor: "outbound allows for TCP 5671, 5672 and 443 to service tag EventHub or the region's EventHub tag",
			applies: cl, naWhy: v2na, dep: probes.DepEventHub, tag: "EventHub", proto: probes.ProtoTCP,
			flows: func(s *snapshot.Snapshot) ([]nsg.Flow, *probes.Result) {
				src, dst := subnetEndpoint(s), tagEndpoint(s, "EventHub", true)
				var out []nsg.Flow
				for _, port := range []int{5671, 5672, 443} {
					out = append(out, nsg.Flow{Direction: "Outbound", Protocol: "Tcp", Port: port, Source: src, Destination: dst, RequireAll: true})
				}
				return out, nil
			}},
		{id: "outbound-ntp-123", title: "NSG: outbound UDP 123 (NTP)", target: "VirtualNetwork → Internet UDP 123",
			why:      "the instance's machines keep time over NTP (internal infrastructure the reference lists as required)",
			lookFor:  "an outbound allow for UDP 123 to Internet (the reference names no service tag)",
			required: true, applies: cl, naWhy: v2na, dep: probes.DepInfra, tag: "Internet", proto: probes.ProtoUDP,
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Outbound", Protocol: "Udp", Port: 123, Source: subnetEndpoint(s), Destination: nsg.Endpoint{Tag: "Internet"}}
			}},
		{id: "outbound-diagnostics-12000", title: "NSG: outbound 12000 (diagnostics)", target: "VirtualNetwork → AzureCloud TCP 12000",
			why:      "the platform's diagnostics (internal infrastructure the reference lists as required; the stv1 table named AzureCloud)",
			lookFor:  "an outbound allow for TCP 12000 to service tag AzureCloud or Internet",
			required: true, applies: cl, naWhy: v2na, dep: probes.DepInfra, tag: "AzureCloud", proto: probes.ProtoTCP,
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Outbound", Protocol: "Tcp", Port: 12000, Source: subnetEndpoint(s), Destination: tagEndpoint(s, "AzureCloud", false), RequireAll: true}
			}},
		{id: "outbound-connectors-443", title: "NSG: outbound 443 to AzureConnectors", target: "VirtualNetwork → AzureConnectors TCP 443",
			why: "managed connections (the credential manager) reach the connectors on 443", lookFor: "an outbound allow for TCP 443 to service tag AzureConnectors",
			applies: cl, naWhy: v2na,
			build: func(s *snapshot.Snapshot) nsg.Flow {
				return nsg.Flow{Direction: "Outbound", Protocol: "Tcp", Port: 443, Source: subnetEndpoint(s), Destination: tagEndpoint(s, "AzureConnectors", false), RequireAll: true}
			}},
	}
}

// vnetEndpoint is the virtual network as an NSG rule's VirtualNetwork tag
// sees it: its address space when known, else the subnet.
func vnetEndpoint(s *snapshot.Snapshot) nsg.Endpoint {
	if s.Configured != nil && len(s.Configured.VNetPrefixes) > 0 {
		return nsg.Endpoint{Tag: "VirtualNetwork", Prefixes: ipv4Only(s.Configured.VNetPrefixes)}
	}
	return subnetEndpoint(s)
}

// developerNeedsNoLB: the reference does not require the load balancer's
// 6390 for the Developer SKU (one unit); it is required for every other SKU
// and when the SKU is unknown (before deployment, or without the
// instance's read).
func developerNeedsNoLB(s *snapshot.Snapshot) (bool, string, string) {
	if s.APIM != nil && strings.EqualFold(s.APIM.SKU, "Developer") {
		return false, "not required for the Developer SKU, which runs one unit; required if the instance moves to Premium", ""
	}
	return true, "", ""
}

// multiRegionOnly: Traffic Manager routes only between the regions of a
// multi-region instance.
func multiRegionOnly(s *snapshot.Snapshot) (bool, string, string) {
	switch a := s.APIM; {
	case a == nil:
		return false, "required only for a multi-region instance; Resource Manager did not show the instance's locations", ""
	case len(a.AdditionalLocations) == 0:
		return false, "", "the instance " + a.Name + " has one location (" + a.Location + "); Traffic Manager routes only between the regions of a multi-region instance"
	}
	return true, "the instance has locations " + s.APIM.Location + ", " + strings.Join(s.APIM.AdditionalLocations, ", "), ""
}

// dnsFlows are UDP and TCP 53 (TCP for truncated answers) to the virtual
// network's custom DNS servers; with Azure-provided DNS there is nothing an
// NSG filters. The servers come from the virtual network's read, else from
// what the instance reports it uses (NetworkStatus).
func dnsFlows(s *snapshot.Snapshot) ([]nsg.Flow, *probes.Result) {
	servers, from := dnsServers(s)
	if v := s.Configured; v != nil && v.HaveVNet {
		if len(servers) == 0 {
			res := probes.Passf("the virtual network uses Azure-provided DNS (168.63.129.16), which NSGs do not filter")
			res.Evidence = map[string]any{"dns_servers": []string{}, "from": "the virtual network's dhcpOptions"}
			return nil, &res
		}
	}
	var custom []netip.Prefix
	for _, a := range servers {
		if a != azureDNS && a.Is4() {
			custom = append(custom, netip.PrefixFrom(a, 32))
		}
	}
	if len(custom) == 0 {
		if from == "the instance's NetworkStatus" && len(s.NetworkStatus) == 0 {
			why := "the virtual network's DNS servers are unknown"
			if r := s.Read(snapshot.ReadVNet); r != nil && !r.OK() {
				why += " (vnet read: " + r.Message + ")"
			}
			res := probes.Skipf(probes.ReasonNoData, why,
				"Run `az network vnet show --ids VNET --query dhcpOptions.dnsServers` and check that the subnet's NSG allows outbound UDP and TCP 53 to each server.")
			return nil, &res
		}
		res := probes.Passf("the instance uses Azure-provided DNS (168.63.129.16), which NSGs do not filter")
		return nil, &res
	}
	// The servers by address, not by a tag: whether the VirtualNetwork
	// tag holds them (a server in a peered hub does, one on-premises only
	// through a gateway) is for the rules' expansions to say.
	dst := nsg.Endpoint{Prefixes: custom}
	src := subnetEndpoint(s)
	return []nsg.Flow{
		{Direction: "Outbound", Protocol: "Udp", Port: 53, Source: src, Destination: dst, RequireAll: true},
		{Direction: "Outbound", Protocol: "Tcp", Port: 53, Source: src, Destination: dst, RequireAll: true},
	}, nil
}

// dnsServers are the virtual network's DNS servers (its read), else the
// ones the instance reports it uses, and where they come from.
func dnsServers(s *snapshot.Snapshot) ([]netip.Addr, string) {
	if v := s.Configured; v != nil && v.HaveVNet {
		return v.VNetDNSServers, "the virtual network's dhcpOptions"
	}
	var servers []netip.Addr
	for _, l := range s.NetworkStatus {
		for _, d := range l.DNSServers {
			if a, err := netip.ParseAddr(d); err == nil && a != azureDNS && !containsAddr(servers, a) {
				servers = append(servers, a)
			}
		}
	}
	return servers, "the instance's NetworkStatus"
}

// dnsNote names the servers the DNS flows go to, for the message.
func dnsNote(s *snapshot.Snapshot) (bool, string, string) {
	servers, from := dnsServers(s)
	if len(servers) == 0 {
		return true, "", ""
	}
	names := make([]string, len(servers))
	for i, a := range servers {
		names[i] = a.String()
	}
	return true, "DNS servers " + strings.Join(names, ", ") + " from " + from, ""
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// flowsResult judges several flows that must all be allowed: the first
// that is not is the result, and a pass names them all.
func flowsResult(groups []nsg.Group, flows []nsg.Flow, required bool) probes.Result {
	if len(flows) == 1 {
		return nsg.FlowResult(groups, flows[0], required)
	}
	var msgs []string
	var names []string
	var last probes.Result
	for _, f := range flows {
		res := nsg.FlowResult(groups, f, required)
		if res.Status != probes.Pass {
			if res.Evidence == nil {
				res.Evidence = map[string]any{}
			}
			res.Evidence["flows"] = flowNames(flows)
			return res
		}
		msgs = append(msgs, res.Message)
		names = append(names, f.String())
		last = res
	}
	last.Message = strings.Join(msgs, "; ")
	if last.Evidence == nil {
		last.Evidence = map[string]any{}
	}
	last.Evidence["flows"] = names
	return last
}

func flowNames(fs []nsg.Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprint(f)
	}
	return out
}
