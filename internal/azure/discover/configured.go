package discover

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/netwire"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
)

// The configured view: the subnet's NSG and route table, the NIC's NSG and
// Azure's system routes for the virtual network, read with plain GETs. It
// stands in when the effective views are denied, fail or do not finish in
// time, and it is the only view of the instance's subnet in the v2 modes
// (the effective views are of this VM's NIC, which is elsewhere). It cannot
// see routes learned over BGP (a VPN or ExpressRoute gateway, Route Server)
// nor Azure Virtual Network Manager's security admin rules.

// readConfigured reads the subnet that is judged and then, in parallel, its
// NSG, its route table and its virtual network's address space.
func (s *armSession) readConfigured(ctx context.Context, id string) {
	defer s.startPredeploy(ctx, id)()
	// The NIC read may be filling these in beside a v2 subnet read.
	s.mu.Lock()
	rg, nic := s.snap.ResourceGroup, s.snap.NICName
	s.mu.Unlock()
	r := snapshot.NewRead(snapshot.ReadSubnet, rg, nic, "", "")
	r.CLI = "az network vnet subnet show --ids " + id
	start := s.begin(r.Name)
	rid, err := azarm.ParseResourceID(id)
	var info *snapshot.SubnetInfo
	if err != nil || rid.Parent == nil {
		err = arm.Malformed("the subnet id does not parse: " + bounded.Line(id))
	} else {
		var client *armnetwork.SubnetsClient
		client, err = armnetwork.NewSubnetsClient(rid.SubscriptionID, s.Cred(), s.ClientOptions())
		if err == nil {
			var resp armnetwork.SubnetsClientGetResponse
			resp, err = client.Get(ctx, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil)
			if err == nil {
				info = convertSubnet(id, rid.Name, resp.Subnet)
			}
		}
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if info != nil {
			s.snap.Subnet = info
		}
	})
	if info == nil || s.gate.dropped() {
		return
	}
	var wg sync.WaitGroup
	if info.NSGID != "" {
		wg.Go(func() {
			g, ok := s.readNSG(ctx, snapshot.ReadSubnetNSG, info.NSGID, "subnet")
			if ok {
				s.finishView(func(v *snapshot.ConfiguredView) { v.SubnetNSG = g })
			}
		})
	}
	if info.RouteTableID != "" {
		wg.Go(func() { s.readRouteTable(ctx, info.RouteTableID) })
	}
	wg.Go(func() { s.readVNet(ctx, rid.Parent.String()) })
	wg.Wait()
}

// finishView changes the configured view under the lock.
// A gated read's change waits for its gate (gate.go).
func (s *armSession) finishView(f func(v *snapshot.ConfiguredView)) {
	record := func() {
		if s.snap.Configured == nil {
			s.snap.Configured = &snapshot.ConfiguredView{}
		}
		f(s.snap.Configured)
	}
	if s.gate.hold(record) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	record()
}

func (s *armSession) readNICNSG(ctx context.Context, id string) {
	if g, ok := s.readNSG(ctx, snapshot.ReadNICNSG, id, "nic"); ok {
		s.finishView(func(v *snapshot.ConfiguredView) { v.NICNSG = g })
	}
}

type nsgResource struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		SecurityRules        []nsgRuleResource `json:"securityRules"`
		DefaultSecurityRules []nsgRuleResource `json:"defaultSecurityRules"`
	} `json:"properties"`
}

type nsgRuleResource struct {
	Name       string           `json:"name"`
	Properties netwire.RuleWire `json:"properties"`
}

// readNSG reads one NSG with its default rules, as the group the
// evaluation takes; its rules name tags, unexpanded.
func (s *armSession) readNSG(ctx context.Context, name, id, scope string) (*nsg.Group, bool) {
	r := snapshot.NewRead(name, "", "", "", "")
	r.CLI = "az network nsg show --ids " + id
	start := s.begin(r.Name)
	var res nsgResource
	err := s.GetJSON(ctx, id, networkAPIVersion, &res)
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return nil, false
	}
	return nsgGroupOf(res, id, scope), true
}

// nsgGroupOf is an NSG resource's rules, custom and default, as the
// evaluator takes them.
func nsgGroupOf(res nsgResource, id, scope string) *nsg.Group {
	g := &nsg.Group{ID: cmp.Or(res.ID, id), Scope: scope}
	for _, list := range [][]nsgRuleResource{res.Properties.SecurityRules, res.Properties.DefaultSecurityRules} {
		for _, rr := range list {
			g.Rules = append(g.Rules, rr.Properties.Rule(rr.Name))
		}
	}
	return g
}

func (s *armSession) readRouteTable(ctx context.Context, id string) {
	r := snapshot.NewRead(snapshot.ReadRouteTable, "", "", "", "")
	r.CLI = "az network route-table route list --ids " + id + " -o table"
	start := s.begin(r.Name)
	var res routeTableResource
	err := s.GetJSON(ctx, id, networkAPIVersion, &res)
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return
	}
	udrs := udrsOf(res)
	s.finishView(func(v *snapshot.ConfiguredView) {
		v.RouteTableID, v.UDRs, v.HaveRouteTable = id, udrs, true
		v.BGPDisabled = res.Properties.DisableBgpRoutePropagation
	})
}

// routeTableResource is a route table as a plain GET returns it.
type routeTableResource struct {
	Properties struct {
		DisableBgpRoutePropagation bool `json:"disableBgpRoutePropagation"`
		Routes                     []struct {
			Name       string `json:"name"`
			Properties struct {
				AddressPrefix    string `json:"addressPrefix"`
				NextHopType      string `json:"nextHopType"`
				NextHopIPAddress string `json:"nextHopIpAddress"`
			} `json:"properties"`
		} `json:"routes"`
	} `json:"properties"`
}

// udrsOf is a route table's routes; one whose prefix is a service tag
// keeps the tag, expanded at analysis.
func udrsOf(res routeTableResource) []routes.Route {
	var udrs []routes.Route
	for _, rt := range res.Properties.Routes {
		p := rt.Properties
		u := routes.Route{Name: rt.Name, Source: "User", State: "Active", NextHopType: p.NextHopType,
			DisableBgpRoutePropagation: res.Properties.DisableBgpRoutePropagation}
		if p.NextHopIPAddress != "" {
			u.NextHopIPs = []string{p.NextHopIPAddress}
		}
		if pf, ok := wire.ParsePrefix(p.AddressPrefix); ok {
			u.Prefixes = []netip.Prefix{pf}
		} else if t := strings.TrimSpace(p.AddressPrefix); t != "" {
			u.ServiceTags = []string{t} // a service-tag route, expanded at analysis
		}
		udrs = append(udrs, u)
	}
	return udrs
}

func (s *armSession) readVNet(ctx context.Context, id string) {
	r := snapshot.NewRead(snapshot.ReadVNet, "", "", "", "")
	r.CLI = "az network vnet show --ids " + id
	start := s.begin(r.Name)
	var res vnetResource
	err := s.GetJSON(ctx, id, networkAPIVersion, &res)
	if err == nil && len(res.Properties.AddressSpace.AddressPrefixes) == 0 {
		err = arm.Malformed("the virtual network has no address space")
	}
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return
	}
	ps := prefixesOf(res.Properties.AddressSpace.AddressPrefixes)
	var dns []netip.Addr
	for _, a := range res.Properties.DHCPOptions.DNSServers {
		if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
			dns = append(dns, ip)
		}
	}
	peerings := peeringsOf(res)
	gateways := gatewaysOf(res)
	s.finishView(func(v *snapshot.ConfiguredView) {
		v.VNetPrefixes, v.VNetDNSServers, v.HaveVNet = ps, dns, true
		v.VNetID, v.VNetLocation = id, res.Location
		v.Peerings, v.Gateways = peerings, gateways
	})
}

// vnetResource is a virtual network as a plain GET returns it: its space,
// DNS servers, subnets (a GatewaySubnet or RouteServerSubnet holding a
// gateway's or Route Server's IP configuration brings routes learnt over
// BGP) and peerings with the remote space each adds to the VirtualNetwork
// tag (azure-facts §12.2, §12.3).
type vnetResource struct {
	Location   string `json:"location"`
	Properties struct {
		AddressSpace addressSpace `json:"addressSpace"`
		DHCPOptions  struct {
			DNSServers []string `json:"dnsServers"`
		} `json:"dhcpOptions"`
		Subnets []struct {
			Name       string `json:"name"`
			Properties struct {
				IPConfigurations []netwire.SubResource `json:"ipConfigurations"`
			} `json:"properties"`
		} `json:"subnets"`
		VirtualNetworkPeerings []struct {
			Name       string `json:"name"`
			Properties struct {
				PeeringState                     string              `json:"peeringState"`
				UseRemoteGateways                bool                `json:"useRemoteGateways"`
				AllowGatewayTransit              bool                `json:"allowGatewayTransit"`
				RemoteAddressSpace               addressSpace        `json:"remoteAddressSpace"`
				RemoteVirtualNetworkAddressSpace addressSpace        `json:"remoteVirtualNetworkAddressSpace"`
				RemoteVirtualNetwork             netwire.SubResource `json:"remoteVirtualNetwork"`
			} `json:"properties"`
		} `json:"virtualNetworkPeerings"`
	} `json:"properties"`
}

type addressSpace struct {
	AddressPrefixes []string `json:"addressPrefixes"`
}

func prefixesOf(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range ss {
		if p, ok := wire.ParsePrefix(a); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func peeringsOf(res vnetResource) []snapshot.Peering {
	var out []snapshot.Peering
	for _, pr := range res.Properties.VirtualNetworkPeerings {
		p := pr.Properties
		out = append(out, snapshot.Peering{
			Name: bounded.Line(pr.Name), RemoteID: p.RemoteVirtualNetwork.ID, State: p.PeeringState,
			Remote:            prefixesOf(append(slices.Clone(p.RemoteAddressSpace.AddressPrefixes), p.RemoteVirtualNetworkAddressSpace.AddressPrefixes...)),
			UseRemoteGateways: p.UseRemoteGateways,
		})
	}
	return out
}

// gatewaysOf names what in the virtual network learns routes over BGP: a
// virtual network gateway (VPN or ExpressRoute) in GatewaySubnet, a Route
// Server in RouteServerSubnet. An empty GatewaySubnet brings nothing.
func gatewaysOf(res vnetResource) []string {
	var out []string
	for _, sn := range res.Properties.Subnets {
		for _, c := range sn.Properties.IPConfigurations {
			lid := strings.ToLower(c.ID)
			switch {
			case strings.EqualFold(sn.Name, "GatewaySubnet") && strings.Contains(lid, "/virtualnetworkgateways/"):
				out = append(out, "virtual network gateway "+gatewayName(c.ID, "virtualNetworkGateways")+" in GatewaySubnet")
			case strings.EqualFold(sn.Name, "RouteServerSubnet"):
				out = append(out, "Route Server "+gatewayName(c.ID, "virtualHubs")+" in RouteServerSubnet")
			default:
				continue
			}
			break
		}
	}
	return out
}

// gatewayName is the resource's name after kind in an IP configuration's
// id, bounded for messages.
func gatewayName(id, kind string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], kind) {
			return bounded.Line(parts[i+1])
		}
	}
	return "(unnamed)"
}
