package discover

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

// localToward is the source address the kernel picks toward a test
// address (no packet is sent), or the test skips without such a route.
func localToward(t *testing.T) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(azureDNSVIP))
	if err != nil {
		t.Skipf("no route on this machine: %v", err)
	}
	defer c.Close()
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	if a.IsLoopback() {
		t.Skip("only loopback here")
	}
	return a
}

// Without the metadata service the subnet is the interface's own address
// and prefix, whatever the address space (a VNet in 198.18.4.0/22 is no
// RFC 1918 range), with source interface.
func TestSubnetFromTheInterface(t *testing.T) {
	local := localToward(t)
	addrs := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.IP(local.AsSlice()), Mask: net.CIDRMask(22, local.BitLen())},
		}, nil
	}
	ip, p, ok := interfaceSubnet(azureDNSVIP, addrs)
	if !ok || ip != local || p != netip.PrefixFrom(local, 22).Masked() {
		t.Fatalf("interfaceSubnet: %v %v %v", ip, p, ok)
	}
	// Toward loopback there is no subnet to tell.
	if _, _, ok := interfaceSubnet(netip.MustParseAddrPort("127.0.0.1:53"), addrs); ok {
		t.Errorf("loopback taken for the subnet")
	}
	// Discover without IMDS takes it, saying so.
	o := Options{IMDSEndpoint: "http://127.0.0.1:1", ARM: ARMOff, InterfaceAddrs: addrs}
	d := mustDiscover(t, context.Background(), o)
	c := d.Context()
	if c.Subnet != p.String() || c.Sources["subnet"] != SourceInterface || c.VMPrivateIP != local.String() || c.Sources["vm_private_ip"] != SourceInterface {
		t.Errorf("context subnet %q (%s), vm %q (%s)", c.Subnet, c.Sources["subnet"], c.VMPrivateIP, c.Sources["vm_private_ip"])
	}
	// A --subnet wins.
	o.Subnet = "10.9.0.0/24"
	if c := mustDiscover(t, context.Background(), o).Context(); c.Subnet != "10.9.0.0/24" || c.Sources["subnet"] != SourceFlag {
		t.Errorf("flag lost: %q %s", c.Subnet, c.Sources["subnet"])
	}
}
