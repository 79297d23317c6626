package run

import (
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// Every check a run can make carries its facets, set where it is built:
// the area its id names, the role of the checks a correlation singles out,
// the family and protocol of every dependency dialled. The diagnosis selects
// on these and never on the id, so a check built without them would drop
// out of every finding unnoticed. (This test reads ids; the code does not.)
func TestEveryCheckCarriesItsFacets(t *testing.T) {
	roles := map[string]probes.Role{
		"route.egress-ip": probes.RoleEgressEcho, "route.forced-tunnel": probes.RoleDefaultRoute,
		"route.management-return": probes.RoleManagementReturn, "dns.zone-scope": probes.RoleZoneScope,
		"tls.interception": probes.RoleInterception, "subnet.config": probes.RoleSubnetConfig,
	}
	prefixRoles := map[string]probes.Role{
		"route.path.": probes.RolePathTrace, "route.dependency.": probes.RoleDependencyRoute, "subnet.nsg.": probes.RoleNSGFlow,
	}
	for _, mode := range probes.Modes() {
		for _, phase := range []probes.DeployPhase{probes.DeployPre, probes.DeployPost} {
			cfg := baseConfig(t, dnsServer(t, nil))
			cfg.Mode, cfg.Phase, cfg.Service, cfg.Region = mode, phase, "contoso", "westeurope"
			cfg.StorageAccount, cfg.SQLServer, cfg.KeyVault, cfg.EventHub = "acct", "srv", "kv", "logs"
			planned, err := Plan(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range planned {
				area, rest, _ := strings.Cut(c.ID, ".")
				if string(c.Area) != area {
					t.Errorf("%s/%s: %s has area %q", mode, phase, c.ID, c.Area)
				}
				want, ok := roles[c.ID]
				for p, r := range prefixRoles {
					if strings.HasPrefix(c.ID, p) {
						want, ok = r, true
					}
				}
				if ok && c.Role != want {
					t.Errorf("%s: role %q, want %q", c.ID, c.Role, want)
				}
				if (c.Area == probes.AreaOutbound || c.Area == probes.AreaInbound) && c.Kind.Dials() {
					family, _, _ := strings.Cut(rest, ".")
					if c.Area == probes.AreaOutbound && string(c.Dependency) != family {
						t.Errorf("%s: dependency %q", c.ID, c.Dependency)
					}
					if c.Protocol != probes.ProtocolOf(c.Kind) || c.Protocol == probes.ProtoNone {
						t.Errorf("%s: protocol %q for kind %s", c.ID, c.Protocol, c.Kind)
					}
				}
				if c.Role == probes.RoleDependencyRoute && (c.Dependency == probes.DepNone || c.ServiceTag == "") {
					t.Errorf("%s: a route to a dependency names its family and tag: %+v", c.ID, c.Facets)
				}
				if c.Role == probes.RolePathTrace && "route.path."+string(c.Dependency) != c.ID {
					t.Errorf("%s: traces family %q", c.ID, c.Dependency)
				}
			}
		}
	}
}
