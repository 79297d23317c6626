package azurectx

import (
	"context"
	"net/netip"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/probes"
)

// The configured view: the subnet's NSG and route table, the NIC's NSG and
// Azure's system routes for the virtual network, read with plain GETs. It
// stands in when the effective views are denied, fail or do not finish in
// time, and it is the only view of the instance's subnet in the v2 modes
// (the effective views are of this VM's NIC, which is elsewhere). It cannot
// see routes learned over BGP (a VPN or ExpressRoute gateway, Route Server)
// nor Azure Virtual Network Manager's security admin rules.

const (
	viewEffective  = "effective"
	viewConfigured = "configured"
)

// readConfigured reads the subnet that is judged and then, in parallel, its
// NSG, its route table and its virtual network's address space.
func (s *armSession) readConfigured(ctx context.Context, id string) {
	defer s.startPredeploy(ctx, id)()
	// The NIC read may be filling these in beside a v2 subnet read.
	s.mu.Lock()
	rg, nic := s.snap.ResourceGroup, s.snap.NICName
	s.mu.Unlock()
	r := newRead(ReadSubnet, rg, nic, &Instance{})
	r.CLI = "az network vnet subnet show --ids " + id
	start := s.begin(r.Name)
	rid, err := arm.ParseResourceID(id)
	var info *SubnetInfo
	if err != nil || rid.Parent == nil {
		err = &malformedError{"the subnet id does not parse: " + boundedLine(id)}
	} else {
		var client *armnetwork.SubnetsClient
		client, err = armnetwork.NewSubnetsClient(rid.SubscriptionID, s.cred, s.clientOp)
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
	if info == nil {
		return
	}
	var wg sync.WaitGroup
	if info.NSGID != "" {
		wg.Go(func() {
			g, ok := s.readNSG(ctx, ReadSubnetNSG, info.NSGID, "subnet")
			if ok {
				s.finishView(func(v *ConfiguredView) { v.SubnetNSG = g })
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
func (s *armSession) finishView(f func(v *ConfiguredView)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.Configured == nil {
		s.snap.Configured = &ConfiguredView{}
	}
	f(s.snap.Configured)
}

func (s *armSession) readNICNSG(ctx context.Context, id string) {
	if g, ok := s.readNSG(ctx, ReadNICNSG, id, "nic"); ok {
		s.finishView(func(v *ConfiguredView) { v.NICNSG = g })
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
	Name       string   `json:"name"`
	Properties ruleWire `json:"properties"`
}

// ruleWire is a security rule's fields as both an NSG resource (under
// properties) and an effective NSG list (flat) send them.
type ruleWire struct {
	Protocol                   string     `json:"protocol"`
	SourcePortRange            string     `json:"sourcePortRange"`
	DestinationPortRange       string     `json:"destinationPortRange"`
	SourcePortRanges           stringList `json:"sourcePortRanges"`
	DestinationPortRanges      stringList `json:"destinationPortRanges"`
	SourceAddressPrefix        string     `json:"sourceAddressPrefix"`
	DestinationAddressPrefix   string     `json:"destinationAddressPrefix"`
	SourceAddressPrefixes      stringList `json:"sourceAddressPrefixes"`
	DestinationAddressPrefixes stringList `json:"destinationAddressPrefixes"`
	Access                     string     `json:"access"`
	Priority                   int32      `json:"priority"`
	Direction                  string     `json:"direction"`
}

// rule is the named rule as the evaluator takes it, its tags unexpanded.
func (p ruleWire) rule(name string) nsg.Rule {
	return nsg.Rule{
		Name: name, Priority: p.Priority, Direction: p.Direction, Access: p.Access, Protocol: p.Protocol,
		SourcePorts:      joinUnique(p.SourcePortRange, p.SourcePortRanges),
		DestinationPorts: joinUnique(p.DestinationPortRange, p.DestinationPortRanges),
		Sources:          joinUnique(p.SourceAddressPrefix, p.SourceAddressPrefixes),
		Destinations:     joinUnique(p.DestinationAddressPrefix, p.DestinationAddressPrefixes),
	}
}

// readNSG reads one NSG with its default rules, as the group the
// evaluation takes; its rules name tags, unexpanded.
func (s *armSession) readNSG(ctx context.Context, name, id, scope string) (*nsg.Group, bool) {
	r := newRead(name, "", "", &Instance{})
	r.CLI = "az network nsg show --ids " + id
	start := s.begin(r.Name)
	var res nsgResource
	err := s.getJSON(ctx, id, networkAPIVersion, &res)
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
	g := &nsg.Group{ID: nonEmpty(res.ID, id), Scope: scope}
	for _, list := range [][]nsgRuleResource{res.Properties.SecurityRules, res.Properties.DefaultSecurityRules} {
		for _, rr := range list {
			g.Rules = append(g.Rules, rr.Properties.rule(rr.Name))
		}
	}
	return g
}

func (s *armSession) readRouteTable(ctx context.Context, id string) {
	r := newRead(ReadRouteTable, "", "", &Instance{})
	r.CLI = "az network route-table route list --ids " + id + " -o table"
	start := s.begin(r.Name)
	var res routeTableResource
	err := s.getJSON(ctx, id, networkAPIVersion, &res)
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return
	}
	udrs := udrsOf(res)
	s.finishView(func(v *ConfiguredView) { v.RouteTableID, v.UDRs, v.HaveRouteTable = id, udrs, true })
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
		if pf, ok := parsePrefix(p.AddressPrefix); ok {
			u.Prefixes = []netip.Prefix{pf}
		} else if t := strings.TrimSpace(p.AddressPrefix); t != "" {
			u.ServiceTags = []string{t} // a service-tag route, expanded at analysis
		}
		udrs = append(udrs, u)
	}
	return udrs
}

func (s *armSession) readVNet(ctx context.Context, id string) {
	r := newRead(ReadVNet, "", "", &Instance{})
	r.CLI = "az network vnet show --ids " + id + " --query addressSpace"
	start := s.begin(r.Name)
	var res struct {
		Location   string `json:"location"`
		Properties struct {
			AddressSpace struct {
				AddressPrefixes []string `json:"addressPrefixes"`
			} `json:"addressSpace"`
			DHCPOptions struct {
				DNSServers []string `json:"dnsServers"`
			} `json:"dhcpOptions"`
		} `json:"properties"`
	}
	err := s.getJSON(ctx, id, networkAPIVersion, &res)
	if err == nil && len(res.Properties.AddressSpace.AddressPrefixes) == 0 {
		err = &malformedError{"the virtual network has no address space"}
	}
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return
	}
	var ps []netip.Prefix
	for _, a := range res.Properties.AddressSpace.AddressPrefixes {
		if p, ok := parsePrefix(a); ok {
			ps = append(ps, p)
		}
	}
	var dns []netip.Addr
	for _, a := range res.Properties.DHCPOptions.DNSServers {
		if ip, err := netip.ParseAddr(strings.TrimSpace(a)); err == nil {
			dns = append(dns, ip)
		}
	}
	s.finishView(func(v *ConfiguredView) {
		v.VNetPrefixes, v.VNetDNSServers, v.HaveVNet = ps, dns, true
		v.VNetID, v.VNetLocation = id, res.Location
	})
}

// ConfiguredView is what the plain GETs found.
type ConfiguredView struct {
	SubnetNSG, NICNSG *nsg.Group
	// HaveRouteTable: the subnet's route table was read (RouteTableID,
	// UDRs); false when none is associated or the read failed.
	HaveRouteTable bool
	RouteTableID   string
	UDRs           []routes.Route
	VNetPrefixes   []netip.Prefix
	// VNetID and VNetLocation are the virtual network's (subnet.region).
	VNetID, VNetLocation string
	// VNetDNSServers are the virtual network's custom DNS servers
	// (dhcpOptions); none means Azure-provided DNS. HaveVNet: the virtual
	// network was read.
	VNetDNSServers []netip.Addr
	HaveVNet       bool
}

// systemRoutes are Azure's default routes for a virtual network
// (virtual-networks-udr-overview: the address space to the virtual
// network, 0.0.0.0/0 to the Internet, the private and shared ranges
// dropped unless the address space takes them, which the longer VNet
// prefix does by longest match).
func systemRoutes(vnet []netip.Prefix) []routes.Route {
	out := []routes.Route{
		{Name: "system: default", Source: "Default", State: "Active", NextHopType: routes.HopInternet, Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
		{Name: "system: private and shared ranges", Source: "Default", State: "Active", NextHopType: "None", Prefixes: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
			netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10")}},
	}
	if len(vnet) > 0 {
		out = append(out, routes.Route{Name: "system: virtual network", Source: "Default", State: "Active", NextHopType: routes.HopVnetLocal, Prefixes: vnet})
	}
	return out
}

// view is the routes or NSGs a verdict comes from, and how to say so.
type view struct {
	kind   string // effective or configured
	routes []routes.Route
	groups []nsg.Group
	// note is appended to the verdict's message.
	note string
}

// routeView picks the routes to judge: the effective table when it was
// read and describes the judged subnet, else the configured one. nil with a
// skip when neither is available.
func routeView(s *Snapshot, lookFor string) (*view, *probes.Result) {
	eff := s.Read(ReadEffectiveRoutes)
	if !s.judgesOtherSubnet() && eff.OK() {
		return &view{kind: viewEffective, routes: s.Routes, note: "effective routes of this VM's NIC"}, nil
	}
	if c := s.Configured; s.Read(ReadSubnet).OK() && c != nil && len(c.VNetPrefixes) > 0 &&
		(s.Subnet.RouteTableID == "" || c.HaveRouteTable) {
		rs := append(systemRoutes(c.VNetPrefixes), c.UDRs...)
		src := "Azure's system routes"
		if c.HaveRouteTable {
			src = "route table " + shortID(c.RouteTableID) + " and Azure's system routes"
		}
		note := "configured view of subnet " + s.Subnet.Name + ": " + src + "; it cannot see routes learned over BGP (VPN or ExpressRoute gateways, Route Server)"
		if why := effectiveWhy(s, eff); why != "" {
			note += "; " + why
		}
		return &view{kind: viewConfigured, routes: rs, note: note}, nil
	}
	need := ReadEffectiveRoutes
	if s.judgesOtherSubnet() {
		switch {
		case !s.Read(ReadSubnet).OK():
			need = ReadSubnet
		case s.Subnet.RouteTableID != "" && (s.Configured == nil || !s.Configured.HaveRouteTable):
			need = ReadRouteTable
		default:
			need = ReadVNet
		}
	}
	return nil, unavailable(s, lookFor, need)
}

// nsgView picks the NSGs to judge, likewise; the NIC's own NSG never
// applies to API Management's machines.
func nsgView(s *Snapshot, lookFor string) (*view, *probes.Result) {
	eff := s.Read(ReadEffectiveNSGs)
	if !s.judgesOtherSubnet() && eff.OK() {
		return &view{kind: viewEffective, groups: s.SubnetGroups(), note: "effective NSGs of this VM's NIC, with security admin rules"}, nil
	}
	if c := s.Configured; s.Read(ReadSubnet).OK() && (s.Subnet.NSGID == "" || (c != nil && c.SubnetNSG != nil)) {
		var gs []nsg.Group
		src := "no NSG is associated with it"
		if c != nil && c.SubnetNSG != nil {
			gs = []nsg.Group{*c.SubnetNSG}
			src = "NSG " + c.SubnetNSG.Name()
		}
		note := "configured view of subnet " + s.Subnet.Name + ": " + src + "; it cannot see Azure Virtual Network Manager security admin rules"
		if why := effectiveWhy(s, eff); why != "" {
			note += "; " + why
		}
		return &view{kind: viewConfigured, groups: gs, note: note}, nil
	}
	need := ReadEffectiveNSGs
	if s.judgesOtherSubnet() {
		need = ReadSubnet
		if s.Read(ReadSubnet).OK() {
			need = ReadSubnetNSG
		}
	}
	return nil, unavailable(s, lookFor, need)
}

// judgesOtherSubnet: a v2 mode, where the judged subnet is the instance's
// and this VM's effective views do not describe it.
func (s *Snapshot) judgesOtherSubnet() bool { return s.v2 || s.InstanceSubnet }

// effectiveWhy says why the effective view was not used.
func effectiveWhy(s *Snapshot, eff *Read) string {
	switch {
	case s.judgesOtherSubnet():
		return "the effective views describe this VM's NIC in another subnet"
	case eff == nil:
		return ""
	default:
		return "the effective view was not available (" + eff.Name + " read: " + eff.Message + ")"
	}
}

// withView marks a verdict with the view it comes from.
func withView(res probes.Result, v *view) probes.Result {
	if res.Status == probes.Skip && res.Reason == probes.ReasonNoData {
		return res
	}
	res.Message += " [" + v.note + "]"
	if res.Evidence == nil {
		res.Evidence = map[string]any{}
	}
	res.Evidence["view"] = v.kind
	return res
}

func shortID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
