package discover

import (
	"net"
	"net/netip"
)

// SourceInterface: a value read from this machine's own network interface.
const SourceInterface = "interface"

// azureDNSVIP is where the interface fallback looks for the route: the
// address every Azure VM reaches through its primary NIC (azure-facts §7).
var azureDNSVIP = netip.AddrPortFrom(netip.AddrFrom4([4]byte{168, 63, 129, 16}), 53)

// interfaceSubnet is, without the metadata service, this VM's address and
// its interface's prefix: the interface the kernel routes toward toward
// (a UDP connect sends nothing, it only picks the route and the source
// address). Azure hands a VM's NIC its subnet's prefix by DHCP, so the
// interface's prefix is the subnet's, whatever address space the VNet uses
// — never a guess from RFC 1918. ok is false on loopback, link-local, or
// when no route or interface matches.
func interfaceSubnet(toward netip.AddrPort, addrs func() ([]net.Addr, error)) (ip netip.Addr, subnet netip.Prefix, ok bool) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(toward))
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	c.Close()
	if local.IsLoopback() || local.IsLinkLocalUnicast() || local.IsUnspecified() {
		return netip.Addr{}, netip.Prefix{}, false
	}
	as, err := addrs()
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, false
	}
	for _, a := range as {
		n, isNet := a.(*net.IPNet)
		if !isNet {
			continue
		}
		ip, okIP := netip.AddrFromSlice(n.IP)
		ones, _ := n.Mask.Size()
		if okIP && ip.Unmap() == local {
			return local, netip.PrefixFrom(local, ones).Masked(), true
		}
	}
	return netip.Addr{}, netip.Prefix{}, false
}
