package discover

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// sizedSnapshot is a snapshot whose subnet read succeeded: the given
// prefixes, an NSG, the delegation the mode needs, and addresses already
// taken. Only subnet.config is judged from it.
func sizedSnapshot(mode probes.Mode, prefixes []string, apim *snapshot.APIMInfo, taken int) *snapshot.Snapshot {
	sn := &snapshot.SubnetInfo{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/snet",
		Name: "snet", NSGID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg", IPConfigurations: taken}
	for _, p := range prefixes {
		sn.Prefixes = append(sn.Prefixes, netip.MustParsePrefix(p))
	}
	switch mode {
	case "v2-injected":
		sn.Delegations = []string{"Microsoft.Web/hostingEnvironments"}
	case "v2-integrated":
		sn.Delegations = []string{"Microsoft.Web/serverFarms"}
	}
	return &snapshot.Snapshot{Enabled: true, Credential: probes.CredManagedIdentity,
		Reads:  map[string]*snapshot.Read{snapshot.ReadSubnet: {Name: snapshot.ReadSubnet, Status: snapshot.ReadOK}},
		Subnet: sn, APIM: apim}
}

func subnetResult(t *testing.T, s *snapshot.Snapshot, mode probes.Mode, units int) probes.Result {
	t.Helper()
	return runChecks(t, snapshot.Static{S: s}, judge.Config{Mode: mode, Units: units})["subnet.config"]
}

// TestSubnetSize holds subnet.config to azure-facts §2 and §2.1: a /29 at
// least for classic injection, a /27 for the v2 modes, and
// 5 reserved + 2 per unit (1 for Developer) + 1 for the internal load
// balancer. Each boundary is tested on both sides: exactly enough passes,
// one address or one prefix bit less fails.
func TestSubnetSize(t *testing.T) {
	premium := func(capacity int) *snapshot.APIMInfo {
		return &snapshot.APIMInfo{Name: "contoso", SKU: "Premium", Capacity: capacity}
	}
	developer := func(capacity int) *snapshot.APIMInfo {
		return &snapshot.APIMInfo{Name: "contoso", SKU: "Developer", Capacity: capacity}
	}
	for _, tc := range []struct {
		name   string
		mode   probes.Mode
		prefix string
		apim   *snapshot.APIMInfo
		units  int // --units
		pass   bool
		want   string // in the message when it fails
		needed int    // evidence addresses_needed
	}{
		// Minimum prefix per mode (one unit always fits the minimum).
		{"internal /29 is the minimum", "internal", "10.0.0.0/29", nil, 1, true, "", 8},
		{"internal /30 is too small", "internal", "10.0.0.0/30", nil, 1, false, "the subnet is a /30, smaller than the /29 mode internal needs", 8},
		{"external /29 is the minimum", "external", "10.0.0.0/29", nil, 1, true, "", 7},
		{"external /30 is too small", "external", "10.0.0.0/30", nil, 1, false, "smaller than the /29 mode external needs", 7},
		{"v2-injected /27 is the minimum", "v2-injected", "10.0.0.0/27", nil, 1, true, "", 7},
		{"v2-injected /28 is too small", "v2-injected", "10.0.0.0/28", nil, 1, false, "the subnet is a /28, smaller than the /27 mode v2-injected needs", 7},
		{"v2-integrated /27 is the minimum", "v2-integrated", "10.0.0.0/27", nil, 1, true, "", 7},
		{"v2-integrated /28 is too small", "v2-integrated", "10.0.0.0/28", nil, 1, false, "smaller than the /27 mode v2-integrated needs", 7},

		// Units against addresses: azure-facts' table (internal: /28 holds
		// 5 units, /27 13, /26 29), exactly full passes, one more unit fails.
		{"internal /28 5 units fill it exactly", "internal", "10.0.0.0/28", nil, 5, true, "", 16},
		{"internal /28 6 units", "internal", "10.0.0.0/28", nil, 6, false, "6 units need 18 addresses (5 reserved + 2 per unit + 1 internal load balancer) but the subnet has 16", 18},
		{"internal /27 13 units", "internal", "10.0.0.0/27", nil, 13, true, "", 32},
		{"internal /27 14 units", "internal", "10.0.0.0/27", nil, 14, false, "14 units need 34 addresses", 34},
		{"internal /26 29 units", "internal", "10.0.0.0/26", nil, 29, true, "", 64},
		{"internal /26 30 units", "internal", "10.0.0.0/26", nil, 30, false, "30 units need 66 addresses", 66},
		// No internal load balancer outside mode internal.
		{"external /28 5 units", "external", "10.0.0.0/28", nil, 5, true, "", 15},
		{"external /28 6 units", "external", "10.0.0.0/28", nil, 6, false, "6 units need 17 addresses (5 reserved + 2 per unit) but the subnet has 16", 17},
		{"v2-injected /27 13 units", "v2-injected", "10.0.0.0/27", nil, 13, true, "", 31},
		{"v2-injected /27 14 units", "v2-injected", "10.0.0.0/27", nil, 14, false, "14 units need 33 addresses", 33},

		// Units come from --units, else the instance's capacity, else 1.
		{"capacity when no --units", "internal", "10.0.0.0/28", premium(6), 0, false, "6 units need 18 addresses", 18},
		{"--units wins over capacity", "internal", "10.0.0.0/28", premium(6), 5, true, "", 16},
		{"--units 1 wins over capacity", "internal", "10.0.0.0/29", premium(6), 1, true, "", 8},
		{"capacity that fits", "internal", "10.0.0.0/28", premium(5), 0, true, "", 16},
		{"no instance, no --units: one unit", "internal", "10.0.0.0/29", nil, 0, true, "", 8},
		// Developer: one address per unit.
		{"developer 2 units fill a /29", "internal", "10.0.0.0/29", developer(2), 0, true, "", 8},
		{"developer 3 units", "internal", "10.0.0.0/29", developer(3), 0, false, "3 units need 9 addresses (5 reserved + 1 per unit + 1 internal load balancer) but the subnet has 8", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := subnetResult(t, sizedSnapshot(tc.mode, []string{tc.prefix}, tc.apim, 0), tc.mode, tc.units)
			if tc.pass {
				if r.Status != probes.Pass || r.Reason != probes.ReasonOK {
					t.Fatalf("got %s/%s (%s), want pass", r.Status, r.Reason, r.Message)
				}
			} else {
				if r.Status != probes.Fail || r.Reason != probes.ReasonSubnetConfig || !strings.Contains(r.Message, tc.want) {
					t.Fatalf("got %s/%s (%s | %s), want fail subnet-config with %q", r.Status, r.Reason, r.Message, r.Hint, tc.want)
				}
				wantHint := fmt.Sprintf("Use a larger subnet (at least %d addresses).", tc.needed)
				if strings.Contains(tc.want, "smaller than") {
					wantHint = "Use a /" + tc.want[strings.LastIndex(tc.want, "/")+1:strings.Index(tc.want, " mode")] + " or larger subnet."
				}
				if r.Hint != wantHint {
					t.Errorf("hint %q, want %q", r.Hint, wantHint)
				}
			}
			if got := r.Evidence["addresses_needed"]; got != tc.needed {
				t.Errorf("addresses_needed = %v, want %d", got, tc.needed)
			}
			bits := netip.MustParsePrefix(tc.prefix).Bits()
			if got := r.Evidence["addresses_total"]; got != 1<<(32-bits) {
				t.Errorf("addresses_total = %v, want %d", got, 1<<(32-bits))
			}
		})
	}
}

// A too-small prefix is named as such, with the minimum in the hint, even
// when the units would also not fit.
func TestSubnetSizeHintNamesTheMinimum(t *testing.T) {
	for mode, min := range map[probes.Mode]int{"internal": 29, "external": 29, "v2-injected": 27, "v2-integrated": 27} {
		r := subnetResult(t, sizedSnapshot(mode, []string{fmt.Sprintf("10.0.0.0/%d", min+1)}, nil, 0), mode, 1)
		if want := fmt.Sprintf("Use a /%d or larger subnet.", min); r.Status != probes.Fail || r.Hint != want {
			t.Errorf("%s /%d: %s %q, want hint %q", mode, min+1, r.Status, r.Hint, want)
		}
	}
}

// The IPv4 prefix is the one sized, wherever it is in the list.
func TestSubnetSizeIPv4OfDualStack(t *testing.T) {
	r := subnetResult(t, sizedSnapshot("internal", []string{"fd00:1::/64", "10.0.0.0/30"}, nil, 0), "internal", 1)
	if r.Status != probes.Fail || !strings.Contains(r.Message, "/30") {
		t.Fatalf("dual-stack /64 + /30: %s %s", r.Status, r.Message)
	}
	r = subnetResult(t, sizedSnapshot("internal", []string{"fd00:1::/64", "10.0.0.0/29"}, nil, 0), "internal", 1)
	if r.Status != probes.Pass || r.Evidence["prefix"] != "10.0.0.0/29" {
		t.Fatalf("dual-stack /64 + /29: %s %s %v", r.Status, r.Message, r.Evidence["prefix"])
	}
}

// Before deployment (no instance yet) addresses other NICs hold count:
// exactly enough free addresses pass, one fewer warns.
func TestSubnetSizeTakenAddressesBeforeDeployment(t *testing.T) {
	// /28 internal, 1 unit: 3 addresses beyond the 5 reserved; 16-5 = 11 free
	// before anything is taken.
	r := subnetResult(t, sizedSnapshot("internal", []string{"10.0.0.0/28"}, nil, 8), "internal", 1)
	if r.Status != probes.Pass {
		t.Fatalf("8 taken, 3 free for 3 needed: %s %s", r.Status, r.Message)
	}
	r = subnetResult(t, sizedSnapshot("internal", []string{"10.0.0.0/28"}, nil, 9), "internal", 1)
	if r.Status != probes.Warn || r.Reason != probes.ReasonSubnetConfig || !strings.Contains(r.Message, "9 addresses are already taken in 10.0.0.0/28; 1 units need 3 more") {
		t.Fatalf("9 taken, 2 free for 3 needed: %s/%s %s", r.Status, r.Reason, r.Message)
	}
	// Once the instance exists its own addresses are among those taken.
	r = subnetResult(t, sizedSnapshot("internal", []string{"10.0.0.0/28"}, &snapshot.APIMInfo{Name: "contoso", SKU: "Premium", Capacity: 1}, 11), "internal", 0)
	if r.Status != probes.Pass {
		t.Fatalf("deployed instance: %s %s", r.Status, r.Message)
	}
}

// The v2 documents of December 2025 (azure-facts §11.5): injection needs
// the Storage and Key Vault rules, integration only Key Vault's.
func TestV2NSGFlowsPerDocument(t *testing.T) {
	applies := func(mode probes.Mode, id string) bool {
		for _, c := range judge.Checks(snapshot.Static{}, judge.Config{Mode: mode}) {
			if c.ID == id {
				return c.Preset == nil || c.Preset.Reason != probes.ReasonNotApplicable
			}
		}
		t.Fatalf("%s: no check %s", mode, id)
		return false
	}
	for _, tc := range []struct {
		mode              probes.Mode
		storage, keyvault bool
	}{
		{probes.ModeInternal, true, true},
		{probes.ModeV2Injected, true, true},
		{probes.ModeV2Integrated, false, true},
	} {
		if got := applies(tc.mode, "subnet.nsg.outbound-storage-443"); got != tc.storage {
			t.Errorf("%s: storage rule applies %v, want %v", tc.mode, got, tc.storage)
		}
		if got := applies(tc.mode, "subnet.nsg.outbound-keyvault-443"); got != tc.keyvault {
			t.Errorf("%s: key vault rule applies %v, want %v", tc.mode, got, tc.keyvault)
		}
		if !applies(tc.mode, "route.dependency.keyvault") {
			t.Errorf("%s: the route to Key Vault is not judged", tc.mode)
		}
	}
}

// v2 outbound integration's reference lists Key Vault only (azure-facts
// §11.5): no route to Storage is required of it. A forced tunnel's advice
// names an ApiManagement → Internet route only where there is management
// traffic (the classic tiers), and each mode's own dependencies.
func TestV2RoutesAndTunnelAdvice(t *testing.T) {
	for _, tc := range []struct {
		mode    probes.Mode
		storage bool
	}{{probes.ModeInternal, true}, {probes.ModeExternal, true}, {probes.ModeV2Injected, true}, {probes.ModeV2Integrated, false}} {
		for _, c := range judge.Checks(snapshot.Static{}, judge.Config{Mode: tc.mode}) {
			if c.ID == "route.dependency.storage" {
				if got := c.Preset == nil || c.Preset.Reason != probes.ReasonNotApplicable; got != tc.storage {
					t.Errorf("%s: route.dependency.storage applies %v, want %v", tc.mode, got, tc.storage)
				}
			}
		}
	}
	// The recorded wire of a forced tunnel (the appliance takes 0.0.0.0/1
	// and 128.0.0.0/1; effective-routes.json), judged in each mode.
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	for _, tc := range []struct {
		mode        probes.Mode
		want, avoid string
	}{
		{probes.ModeInternal, "route for service tag ApiManagement with next hop Internet", ""},
		{probes.ModeV2Injected, "Azure Storage and Azure Key Vault", "ApiManagement with next hop Internet"},
		{probes.ModeV2Integrated, "Azure Key Vault", "ApiManagement with next hop Internet"},
	} {
		o := baseOpts(imds.URL, arm)
		o.Mode = tc.mode
		d := mustDiscover(t, context.Background(), o)
		res := runChecks(t, d, o)
		r := res["route.forced-tunnel"]
		if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || !strings.Contains(r.Hint, tc.want) ||
			(tc.avoid != "" && strings.Contains(r.Hint, tc.avoid)) {
			t.Errorf("%s: route.forced-tunnel %s/%s, hint %q", tc.mode, r.Status, r.Reason, r.Hint)
		}
		if tc.mode == probes.ModeV2Integrated && strings.Contains(r.Hint, "Storage") {
			t.Errorf("%s: the hint names Storage: %q", tc.mode, r.Hint)
		}
	}
}
