package discover

import (
	"context"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// classicSubnet is the subnet the classic modes judge (azure-facts §12.7):
// after deployment the instance names its subnet per location. When this
// VM's NIC is in one of them, that one, on this VM's effective views; when
// it is in another subnet (a jumpbox in a management subnet), the
// instance's — the one in this VM's virtual network, else the primary
// location's — on its configured view, like the v2 modes. Before
// deployment, --apim-subnet when given, else this VM's.
func (s *armSession) classicSubnet(ctx context.Context, apimDone <-chan struct{}, jump string) string {
	other := func(id, loc string) string {
		s.mu.Lock()
		s.snap.InstanceSubnet, s.snap.JudgedLocation = true, loc
		s.mu.Unlock()
		return id
	}
	if s.o.Service == "" || s.o.Phase == probes.DeployPre {
		if s.o.APIMSubnet != "" && !strings.EqualFold(s.o.APIMSubnet, jump) {
			return other(s.o.APIMSubnet, "")
		}
		return jump
	}
	subnets := s.apimSubnets(ctx, apimDone)
	if len(subnets) == 0 {
		return jump
	}
	for _, l := range subnets {
		if strings.EqualFold(l.SubnetID, jump) {
			s.mu.Lock()
			s.snap.JudgedLocation = l.Location
			s.mu.Unlock()
			return jump
		}
	}
	pick := subnets[0]
	for _, l := range subnets {
		if strings.EqualFold(vnetOfSubnet(l.SubnetID), vnetOfSubnet(jump)) {
			pick = l
			break
		}
	}
	return other(pick.SubnetID, pick.Location)
}

// vnetOfSubnet is a subnet id's virtual network id.
func vnetOfSubnet(id string) string {
	if i := strings.Index(strings.ToLower(id), "/subnets/"); i >= 0 {
		return id[:i]
	}
	return id
}
