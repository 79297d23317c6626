package snapshot

import (
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
)

// Peering is one peering of the virtual network.
type Peering struct {
	Name, RemoteID, State string
	// Remote is the peered network's space (both fields the wire may
	// fill, merged).
	Remote            []netip.Prefix
	UseRemoteGateways bool
}

// Connected: the peering carries traffic (peeringState Connected).
func (p Peering) Connected() bool { return strings.EqualFold(p.State, "Connected") }

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
	// Peerings are the virtual network's peerings; Gateways what in it
	// learns routes over BGP (gatewaysOf).
	Peerings []Peering
	Gateways []string
	// BGPDisabled: the route table sets disableBgpRoutePropagation, so no
	// route learnt over BGP reaches the subnet.
	BGPDisabled bool
}
