package discover

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// configuredSnapshot is the fixtures' snapshot as a Reader sees it (the
// effective reads denied), with its route table emptied: Azure's default
// route carries internet-bound traffic as far as the configured view knows.
func configuredSnapshot(t *testing.T) (*snapshot.Snapshot, *snapshot.ConfiguredView, judge.Config) {
	t.Helper()
	imds, _ := fakeIMDS(t)
	deny := armError(http.StatusForbidden, "AuthorizationFailed")
	arm := newARM(t, map[string]http.HandlerFunc{"POST effectiveRouteTable": deny, "POST effectiveNetworkSecurityGroups": deny})
	o := baseOpts(imds.URL, arm)
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	if !s.Read(snapshot.ReadVNet).OK() || s.Read(snapshot.ReadEffectiveRoutes).OK() {
		t.Fatalf("reads: vnet %+v, effective routes %+v", s.Read(snapshot.ReadVNet), s.Read(snapshot.ReadEffectiveRoutes))
	}
	c := *s
	conf := *s.Configured
	conf.UDRs = nil
	c.Configured = &conf
	return &c, &conf, judgeConfig(o)
}

// wireSaw is a Wire whose echo saw one result.
type wireSaw struct{ r *probes.Result }

func (w wireSaw) Egress(context.Context) *probes.Result { return w.r }

func tunnelSeen(ip string) wireSaw {
	r := probes.Warnf(probes.ReasonForcedTunnel, probes.PhaseAnalysis, "internet-bound traffic leaves from "+ip)
	r.EgressIP = ip
	return wireSaw{&r}
}

// The documented forced tunnel advertises 0.0.0.0/0 over BGP with no user
// route (azure-facts §12.3): where something in the virtual network can
// bring such a route, the configured view passes none of the route
// verdicts it would change, and says what to run instead.
func TestConfiguredViewCannotSeeBGP(t *testing.T) {
	s, conf, o := configuredSnapshot(t)

	// Nothing learns routes over BGP: the configured view is whole.
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Pass, probes.ReasonOK, "nothing in the virtual network learns routes over BGP")
	expect(t, res, "route.management-return", probes.Pass, probes.ReasonOK)

	// The hub's gateway, through a peering that uses it.
	conf.Peerings = []snapshot.Peering{{Name: "spoke-to-hub", State: "Connected", UseRemoteGateways: true, Remote: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}}}
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "peering spoke-to-hub uses the remote network's gateways",
		"az network nic show-effective-route-table", "effectiveRouteTable/action")
	expect(t, res, "route.management-return", probes.Skip, probes.ReasonNotObservable, "would replace it")
	expect(t, res, "route.dependency.keyvault", probes.Skip, probes.ReasonNotObservable)
	// The subnet's Microsoft.Storage service endpoint wins over BGP.
	expect(t, res, "route.dependency.storage", probes.Pass, probes.ReasonOK, "service endpoint adds system routes that win over routes learnt over BGP")
	for _, id := range []string{"route.forced-tunnel", "route.management-return"} {
		if res[id].Evidence["view"] != judge.ViewConfigured || res[id].Evidence["bgp_may_reach_subnet"] == nil {
			t.Errorf("%s evidence %v", id, res[id].Evidence)
		}
	}

	// A gateway of its own, likewise.
	conf.Peerings = nil
	conf.Gateways = []string{"virtual network gateway vgw-er in GatewaySubnet"}
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "vgw-er")

	// The wire shows the tunnel: a warning, and the return path fails.
	o.Wire = tunnelSeen("203.0.113.9")
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "leaves from 203.0.113.9", "learnt over BGP")
	expect(t, res, "route.management-return", probes.Fail, probes.ReasonAsymmetricRoute, "203.0.113.9", "service tag ApiManagement and next hop type Internet")
	expect(t, res, "route.dependency.keyvault", probes.Warn, probes.ReasonForcedTunnel, "203.0.113.9")

	// Even with nothing in the virtual network to show for it, the wire
	// is a reason: the route came from somewhere the view cannot see.
	conf.Gateways = nil
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "route.egress-ip")

	// A user route ApiManagement → Internet beats a BGP route of the same
	// prefix: the return path passes.
	conf.UDRs = []routes.Route{{Name: "apim-cp", Source: "User", State: "Active", NextHopType: routes.HopInternet, ServiceTags: []string{"ApiManagement"}}}
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.management-return", probes.Pass, probes.ReasonOK)

	// The route table disables propagation: no BGP route reaches the
	// subnet, and the configured view is whole again.
	conf.UDRs = nil
	conf.HaveRouteTable, conf.BGPDisabled = true, true
	o.Wire = nil
	conf.Gateways = []string{"virtual network gateway vgw-er in GatewaySubnet"}
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Pass, probes.ReasonOK, "disables BGP route propagation")
}

// The tunnel the wire proves gets the mode's advice: an ApiManagement →
// Internet route only where the mode has management traffic (the classic
// tiers); the v2 tiers are told what their own dependencies need.
func TestProvenTunnelAdviceFitsTheMode(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	conf.Gateways = []string{"virtual network gateway vgw-er in GatewaySubnet"}
	o.Wire = tunnelSeen("203.0.113.9")
	for _, c := range []struct {
		mode      probes.Mode
		want, not string
	}{
		{probes.ModeInternal, "route for service tag ApiManagement with next hop Internet", "no ApiManagement route is needed"},
		{probes.ModeExternal, "route for service tag ApiManagement with next hop Internet", "no ApiManagement route is needed"},
		{probes.ModeV2Injected, "v2 injection has no management traffic in the subnet, so no ApiManagement route is needed", "route for service tag ApiManagement"},
		{probes.ModeV2Integrated, "outbound integration has no management traffic in the subnet, so no ApiManagement route is needed", "route for service tag ApiManagement"},
	} {
		o.Mode = c.mode
		res := runChecks(t, snapshot.Static{S: s}, o)
		expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "leaves from 203.0.113.9", c.want, "az network nic show-effective-route-table")
		if h := res["route.forced-tunnel"].Hint; strings.Contains(h, c.not) {
			t.Errorf("%s: hint %q has %q", c.mode, h, c.not)
		}
	}
}

// In a v2 mode the judged subnet is the instance's; routes learnt over
// BGP reach it as they reach this VM's subnet, so this VM's effective
// routes are evidence for it.
func TestV2TakesBGPRoutesFromThisVM(t *testing.T) {
	s, conf, o := configuredSnapshot(t)
	s.V2, s.InstanceSubnet = true, true
	o.Mode = probes.ModeV2Injected
	conf.Gateways = []string{"virtual network gateway vgw-er in GatewaySubnet"}
	s.Reads = cloneReads(s.Reads)
	s.Reads[snapshot.ReadEffectiveRoutes] = &snapshot.Read{Name: snapshot.ReadEffectiveRoutes, Status: snapshot.ReadOK}
	s.Routes = []routes.Route{
		{Source: "Default", State: "Active", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, NextHopType: routes.HopVnetLocal},
		{Source: "Default", State: "Invalid", Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, NextHopType: routes.HopInternet},
		{Source: "VirtualNetworkGateway", State: "Active", Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, NextHopType: routes.HopGateway, NextHopIPs: []string{"10.0.255.4"}},
	}
	res := runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "VirtualNetworkGateway", "learnt over BGP that this VM's effective routes show")
	expect(t, res, "route.dependency.keyvault", probes.Warn, probes.ReasonForcedTunnel, "VirtualNetworkGateway")

	// Its effective routes show none, in a subnet that takes propagated
	// routes: the gateway advertises no default route.
	s.Routes = s.Routes[:2]
	s.Routes[1].State = "Active"
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Pass, probes.ReasonOK, "show no route learnt over BGP")

	// Its own subnet disables propagation: its table says nothing of
	// the judged subnet's BGP routes.
	s.Routes = append(s.Routes, routes.Route{Name: "fw", Source: "User", State: "Active", DisableBgpRoutePropagation: true,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, NextHopType: routes.HopVirtualAppliance})
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "vgw-er")
}

func cloneReads(m map[string]*snapshot.Read) map[string]*snapshot.Read {
	out := make(map[string]*snapshot.Read, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// The virtual network's own read carries what brings BGP routes: a
// gateway in GatewaySubnet, a Route Server, a peering using the remote
// gateways, and each peering's remote space.
func TestVNetReadFindsGatewaysAndPeerings(t *testing.T) {
	body := `{"name":"vnet-spoke","location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.1.0.0/16"]},
	 "subnets":[
	  {"name":"GatewaySubnet","properties":{"addressPrefix":"10.1.255.0/27","ipConfigurations":[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/vgw-er/ipConfigurations/default"}]}},
	  {"name":"RouteServerSubnet","properties":{"ipConfigurations":[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualHubs/rs-1/ipConfigurations/ipconfig1"}]}},
	  {"name":"snet-apim","properties":{"ipConfigurations":[{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/vm1-nic/ipConfigurations/ipconfig1"}]}}],
	 "virtualNetworkPeerings":[
	  {"name":"to-hub","properties":{"peeringState":"Connected","useRemoteGateways":true,"remoteVirtualNetwork":{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-hub"},
	   "remoteAddressSpace":{"addressPrefixes":["10.0.0.0/16"]},"remoteVirtualNetworkAddressSpace":{"addressPrefixes":["10.0.0.0/16","10.100.0.0/24"]}}},
	  {"name":"to-old","properties":{"peeringState":"Disconnected","remoteAddressSpace":{"addressPrefixes":["10.9.0.0/16"]}}}]}}`
	var res vnetResource
	if err := jsonUnmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	gws := gatewaysOf(res)
	if len(gws) != 2 || !strings.Contains(gws[0], "vgw-er") || !strings.Contains(gws[1], "rs-1") {
		t.Errorf("gateways %v", gws)
	}
	ps := peeringsOf(res)
	if len(ps) != 2 || !ps[0].Connected() || !ps[0].UseRemoteGateways || len(ps[0].Remote) != 2 || ps[1].Connected() {
		t.Errorf("peerings %+v", ps)
	}
	// A VNet of 10.0.0.0/8 takes the reserved 10.0.0.0/8 route's place
	// (equal prefixes: the reserved one is gone, not tied with it).
	sys := judge.SystemRoutes(&snapshot.ConfiguredView{VNetPrefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	tb := routes.NewTable(sys)
	for addr, hop := range map[string]string{"10.200.0.5": routes.HopVnetLocal, "192.168.1.1": routes.HopNone, "8.8.8.8": routes.HopInternet} {
		if r, _, _ := tb.Lookup(netip.MustParseAddr(addr)); !r.Is(hop) {
			t.Errorf("%s: %v, want %s", addr, r, hop)
		}
	}
	// A connected peering carries its remote space; a disconnected one
	// nothing.
	sys = judge.SystemRoutes(&snapshot.ConfiguredView{VNetPrefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, Peerings: ps})
	tb = routes.NewTable(sys)
	for addr, hop := range map[string]string{"10.100.0.5": routes.HopPeering, "10.0.3.4": routes.HopPeering, "10.9.0.1": routes.HopNone} {
		if r, _, _ := tb.Lookup(netip.MustParseAddr(addr)); !r.Is(hop) {
			t.Errorf("%s: %v, want %s", addr, r, hop)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
