package judge

import (
	"net/netip"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// ThisVMGroups takes the effective view whole when Resource Manager gave
// it; else the configured view's NIC and subnet NSGs, expanded, and
// nothing where that view cannot decide a flow.
func TestThisVMGroups(t *testing.T) {
	nicG := &nsg.Group{ID: "/x/networkSecurityGroups/nsg-jump", Scope: nsg.ScopeNIC, Rules: []nsg.Rule{
		{Name: "AllowVnetOut", Priority: 100, Direction: "Outbound", Access: "Allow", Protocol: "*", Sources: []string{"VirtualNetwork"}, Destinations: []string{"VirtualNetwork"}}}}
	subnetG := &nsg.Group{ID: "/x/networkSecurityGroups/nsg-apim", Scope: nsg.ScopeSubnet}
	effective := []nsg.Group{{ID: "/x/networkSecurityGroups/nsg-apim", Scope: nsg.ScopeSubnet}, {ID: "/x/networkSecurityGroups/nsg-jump", Scope: nsg.ScopeNIC}}
	base := func() *snapshot.Snapshot {
		return &snapshot.Snapshot{
			Reads:  map[string]*snapshot.Read{snapshot.ReadEffectiveNSGs: {Name: snapshot.ReadEffectiveNSGs, Status: snapshot.ReadDenied}},
			NSGs:   effective,
			Subnet: &snapshot.SubnetInfo{Name: "snet-apim", NSGID: subnetG.ID},
			Configured: &snapshot.ConfiguredView{NICNSG: nicG, SubnetNSG: subnetG,
				VNetPrefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
		}
	}

	s := base()
	s.Reads[snapshot.ReadEffectiveNSGs] = &snapshot.Read{Name: snapshot.ReadEffectiveNSGs, Status: snapshot.ReadOK}
	if g, conf := ThisVMGroups(s); conf || len(g) != 2 || g[1].Scope != nsg.ScopeNIC {
		t.Errorf("effective: %v %+v", conf, g)
	}

	g, conf := ThisVMGroups(base())
	if !conf || len(g) != 2 || g[0].Name() != "nsg-jump" || g[0].Scope != nsg.ScopeNIC || g[1].Scope != nsg.ScopeSubnet {
		t.Fatalf("configured: %v %+v", conf, g)
	}
	if x := g[0].Rules[0].ExpandedDestinations; len(x) == 0 || x[0] != netip.MustParsePrefix("10.1.0.0/16") {
		t.Errorf("VirtualNetwork not expanded: %v", x)
	}

	for name, edit := range map[string]func(*snapshot.Snapshot){
		"no NSG on the NIC":       func(s *snapshot.Snapshot) { s.Configured.NICNSG = nil },
		"the subnet's NSG unread": func(s *snapshot.Snapshot) { s.Configured.SubnetNSG = nil },
		"the subnet unread":       func(s *snapshot.Snapshot) { s.Subnet = nil },
		"a gateway's prefixes":    func(s *snapshot.Snapshot) { s.Configured.Gateways = []string{"virtual network gateway vgw"} },
		"no configured view":      func(s *snapshot.Snapshot) { s.Configured = nil },
	} {
		s := base()
		edit(s)
		if g, _ := ThisVMGroups(s); g != nil {
			t.Errorf("%s: %+v", name, g)
		}
	}
	// A subnet without an NSG: the NIC's alone.
	s = base()
	s.Subnet.NSGID, s.Configured.SubnetNSG = "", nil
	if g, conf := ThisVMGroups(s); !conf || len(g) != 1 {
		t.Errorf("no subnet NSG: %v %+v", conf, g)
	}
}
