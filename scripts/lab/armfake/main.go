// Command armfake is the lab's Azure Resource Manager: it answers the
// reads apimprobe makes for the lab's jumpbox, NIC, subnets, NSGs, route
// table, virtual network, API Management instance and service tags, on the
// recorded wire (azure-facts §11): effective routes and NSGs answer 202 with
// a Location and Retry-After: 10 and complete seconds later, tagMap is an
// object, rules come expanded. Each request re-reads the scenario's knobs
// from a JSON file, so `lab apply` changes its behaviour without a restart.
// It logs one line per answer, with the time it served each finished
// long-running read, for the lab suite's timing assertions.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// knobs are a scenario's faults (scripts/lab/scenarios/arm-*.sh).
type knobs struct {
	// LROSeconds: how long the effective reads take (default 1).
	LROSeconds *float64 `json:"lro_seconds"`
	// Sync: the effective reads answer 200 at once, without polling.
	Sync bool `json:"sync"`
	// DenyEffective: 403 on both effective reads (no action permission).
	DenyEffective bool `json:"deny_effective"`
	// TokenRejected: every request is a 401 with this error code
	// (InvalidAuthenticationTokenTenant, …Audience,
	// ExpiredAuthenticationToken), in the recorded shapes.
	TokenRejected string `json:"token_rejected"`
	// ThrottleEffective: 429 with this Retry-After on both effective reads.
	ThrottleEffective int `json:"throttle_effective"`
	// ThrottleOnce: the first GET of the VM is a 429 with Retry-After 1.
	ThrottleOnce bool `json:"throttle_once"`
	// SplitDefault: a route table with 0.0.0.0/1 and 128.0.0.0/1 to the
	// appliance, in the configured and the effective view.
	SplitDefault bool `json:"split_default"`
	// DefaultToNVA: a route table with 0.0.0.0/0 to the appliance, which
	// leaves the system default route Invalid in the effective view (the
	// routes of the forced-tunnel scenario, whose wire goes that way).
	DefaultToNVA bool `json:"default_to_nva"`
	// AVNMDeny3443: a network manager's security admin rule denies TCP 3443
	// inbound (only the effective view shows it).
	AVNMDeny3443 bool `json:"avnm_deny_3443"`
	// V2Subnet: the instance lives in its own delegated subnet
	// snet-apim-v2 (Premium v2 injection); the jumpbox stays in snet-apim.
	V2Subnet bool `json:"v2_subnet"`
	// V2Integrated: snet-apim-v2 is delegated to Microsoft.Web/serverFarms
	// (Standard/Premium v2 outbound integration) instead.
	V2Integrated bool `json:"v2_integrated"`
	// InstanceOtherSubnet: the classic instance lives in snet-apim-prod
	// (198.18.5.0/24, the same NSG), the jumpbox in snet-apim beside it.
	InstanceOtherSubnet bool `json:"instance_other_subnet"`
	// InstanceMultiRegion: the instance's primary location is North
	// Europe in snet-apim-prod; its additional location West Europe is in
	// snet-apim, the jumpbox's subnet.
	InstanceMultiRegion bool `json:"instance_multi_region"`
	// HubDNS: a landing zone's spoke. The lab VNet's own space is the
	// subnets' (198.18.1.0/24, 198.18.4.0/24); the custom DNS server
	// (198.18.2.53) lives in a hub VNet (198.18.2.0/24) reached over a
	// connected peering.
	HubDNS bool `json:"hub_dns"`
	// HubGateway: the peering uses the hub's gateway (useRemoteGateways),
	// which learns the on-premises space (198.18.100.0/24) over BGP.
	HubGateway bool `json:"hub_gateway"`
	// BGPDefault: the gateway also learns 0.0.0.0/0 (the documented forced
	// tunnel): a VirtualNetworkGateway default route, with no user route,
	// that only the effective routes show.
	BGPDefault bool `json:"bgp_default"`
	// VMSSJumpbox: the jumpbox is instance 0 of the Uniform scale set
	// jump-vmss (the lab's IMDS says so: imds_doc vmss). Its VM and NIC
	// answer at the scale set's paths, the plain NIC path is 404
	// (azure-facts §12.10), in the shapes of the Network spec's
	// VmssNetworkInterfaceGet example and the Compute VMSS VM GET.
	VMSSJumpbox bool `json:"vmss_jumpbox"`
	// NICNSGDeny: the jumpbox's NIC carries NSG nsg-jump, whose rule
	// DenyJumpboxOut (priority 200) denies TCP Port outbound to To (a
	// service tag or a prefix); the subnet's NSG allows it. The effective
	// view lists nsg-jump with the NIC as its association.
	NICNSGDeny *struct {
		To   string `json:"to"`
		Port int    `json:"port"`
	} `json:"nic_nsg_deny"`

	// The instance's own view (networkstatus.go beside this file).
	// InstanceFail: NetworkStatus rows, by host, that report failure.
	InstanceFail []string `json:"instance_fail"`
	// InstanceStaleMinutes: every row was last updated this long ago.
	InstanceStaleMinutes int `json:"instance_stale_minutes"`
	// InstanceDNS: the DNS servers the instance reports (default the
	// VNet's custom server, 198.18.2.53, as this VM's resolv.conf has).
	InstanceDNS []string `json:"instance_dns"`
	// InstanceDotNetDates: rows refreshed at staggered times up to 24
	// minutes ago, some dates written as .NET does at its worst (no zone,
	// the zero date, empty; azure-facts §12.8).
	InstanceDotNetDates bool `json:"instance_dotnet_dates"`
}

const (
	sub    = "00000000-0000-0000-0000-000000000000"
	rg     = "/subscriptions/" + sub + "/resourceGroups/lab-rg"
	net    = rg + "/providers/Microsoft.Network"
	vnetID = net + "/virtualNetworks/lab-vnet"
	snetID = vnetID + "/subnets/snet-apim"
	snetV2 = vnetID + "/subnets/snet-apim-v2"
	// snetProd is a classic instance's own subnet when the jumpbox runs in
	// snet-apim beside it (knob instance_other_subnet).
	snetProd = vnetID + "/subnets/snet-apim-prod"
	nicID    = net + "/networkInterfaces/jump-nic"
	// A scale set jumpbox's VM and NIC (knob vmss_jumpbox).
	vmssVMID  = rg + "/providers/Microsoft.Compute/virtualMachineScaleSets/jump-vmss/virtualMachines/0"
	vmssNICID = vmssVMID + "/networkInterfaces/jump-nic"
	nsgJumpID = net + "/networkSecurityGroups/nsg-jump"
	nsgID     = net + "/networkSecurityGroups/nsg-apim"
	nsgV2ID   = net + "/networkSecurityGroups/nsg-apim-v2"
	rtID      = net + "/routeTables/rt-apim"
	avnmID    = net + "/networkManagers/avnm-lab"
	hubID     = "/subscriptions/" + sub + "/resourceGroups/lab-hub-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet"
	hubGW     = "198.18.2.4" // the hub gateway's address, next hop of its BGP routes
	hubNet    = "198.18.2.0/24"
	onPrem    = "198.18.100.0/24"
	apimID    = rg + "/providers/Microsoft.ApiManagement/service/contoso"
	jumpIP    = "198.18.1.10"
	nvaIP     = "198.18.1.1"
)

// Service tags in the lab: "Azure" is 198.19.0.0/16, its services in
// 198.19.16.0/20, the control plane in 198.19.200.0/24.
var tags = map[string][]string{
	"AzureCloud":                  {"198.19.0.0/16"},
	"AzureCloud.westeurope":       {"198.19.0.0/17"},
	"ApiManagement":               {"198.19.200.0/24"},
	"ApiManagement.WestEurope":    {"198.19.200.0/25"},
	"Storage":                     {"198.19.16.0/20"},
	"Storage.WestEurope":          {"198.19.16.0/21"},
	"Storage.NorthEurope":         {"198.19.24.0/21"},
	"Sql":                         {"198.19.16.0/20"},
	"Sql.WestEurope":              {"198.19.16.0/21"},
	"Sql.NorthEurope":             {"198.19.24.0/21"},
	"EventHub":                    {"198.19.16.0/20"},
	"EventHub.WestEurope":         {"198.19.16.0/21"},
	"AzureKeyVault":               {"198.19.16.0/20"},
	"AzureMonitor":                {"198.19.16.0/20"},
	"AzureActiveDirectory":        {"198.19.16.0/20"},
	"AzureLoadBalancer":           {"168.63.129.16/32"},
	"AzureTrafficManager":         {"198.19.210.0/24"},
	"AzureConnectors":             {"198.19.211.0/24"},
	"AzureFrontDoor.Backend":      {"198.19.212.0/24"},
	"AzureApiManagement.Internal": {"198.19.200.128/25"},
}

type server struct {
	knobsFile string
	mu        sync.Mutex
	posted    map[string]time.Time // operation id → when its POST came
	vmGets    int
	applied   time.Time // the knobs file's time: a new scenario starts afresh
}

func (s *server) knobs() knobs {
	if fi, err := os.Stat(s.knobsFile); err == nil {
		s.mu.Lock()
		if !fi.ModTime().Equal(s.applied) {
			s.applied, s.vmGets = fi.ModTime(), 0
		}
		s.mu.Unlock()
	}
	var k knobs
	if b, err := os.ReadFile(s.knobsFile); err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			log.Printf("knobs %s: %v", s.knobsFile, err)
		}
	}
	return k
}

func main() {
	listen := flag.String("listen", ":8443", "address to serve HTTPS on")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	knobsFile := flag.String("knobs", "", "the scenario's JSON knobs, re-read on every request")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds | log.LUTC)
	s := &server{knobsFile: *knobsFile, posted: map[string]time.Time{}}
	srv := &http.Server{Addr: *listen, Handler: s, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServeTLS(*cert, *key))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	k := s.knobs()
	if k.TokenRejected != "" {
		rejectToken(w, k.TokenRejected)
		return
	}
	p := strings.TrimRight(r.URL.Path, "/")
	lp := strings.ToLower(p)
	log.Printf("%s %s", r.Method, p)
	if s.servePredeploy(w, r, p) {
		return
	}
	if s.serveBackends(w, r, p) {
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.Contains(lp, "/providers/microsoft.compute/virtualmachines/"):
		s.mu.Lock()
		s.vmGets++
		first := s.vmGets == 1
		s.mu.Unlock()
		if k.ThrottleOnce && first {
			w.Header().Set("Retry-After", "1")
			armError(w, http.StatusTooManyRequests, "TooManyRequests", "The request is being throttled.")
			return
		}
		writeJSON(w, 200, map[string]any{"id": p, "name": p[strings.LastIndexByte(p, '/')+1:], "location": "westeurope",
			"properties": map[string]any{"networkProfile": map[string]any{"networkInterfaces": []any{
				map[string]any{"id": nicID, "properties": map[string]any{"primary": true}}}}}})
	case r.Method == http.MethodGet && k.VMSSJumpbox && strings.EqualFold(p, vmssVMID):
		writeJSON(w, 200, vmssVM())
	case r.Method == http.MethodGet && k.VMSSJumpbox && strings.EqualFold(p, vmssNICID):
		writeJSON(w, 200, jumpNIC(k))
	case r.Method == http.MethodGet && k.VMSSJumpbox && strings.EqualFold(p, nicID):
		// As Resource Manager answers a plain NIC path under a scale set
		// (azure-facts §12.10): ResourceNotFound, naming the type and group.
		armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Network/networkInterfaces/"+
			nicID[strings.LastIndexByte(nicID, '/')+1:]+"' under resource group 'lab-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
	case r.Method == http.MethodGet && strings.EqualFold(p, nicID):
		writeJSON(w, 200, jumpNIC(k))
	case r.Method == http.MethodPost && strings.EqualFold(p, nicID+"/effectiveRouteTable"):
		s.startLRO(w, r, k, "routes", func() any { return effectiveRoutes(k) })
	case r.Method == http.MethodPost && strings.EqualFold(p, nicID+"/effectiveNetworkSecurityGroups"):
		s.startLRO(w, r, k, "nsgs", func() any { return effectiveNSGs(k) })
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/operations/"):
		s.pollLRO(w, r, k, p)
	case r.Method == http.MethodGet && (strings.EqualFold(p, snetID) || strings.EqualFold(p, snetProd) || strings.EqualFold(p, snetV2)):
		writeJSON(w, 200, subnetResource(p, k))
	case r.Method == http.MethodGet && strings.EqualFold(p, vnetID):
		writeJSON(w, 200, vnetResource(k))
	case r.Method == http.MethodGet && strings.EqualFold(p, nsgID):
		writeJSON(w, 200, nsgResource(nsgID, "nsg-apim", subnetRules(true)))
	case r.Method == http.MethodGet && strings.EqualFold(p, nsgV2ID):
		writeJSON(w, 200, nsgResource(nsgV2ID, "nsg-apim-v2", subnetRules(false)))
	case r.Method == http.MethodGet && k.NICNSGDeny != nil && strings.EqualFold(p, nsgJumpID):
		writeJSON(w, 200, nsgResource(nsgJumpID, "nsg-jump", nicRules(k)))
	case r.Method == http.MethodGet && strings.EqualFold(p, rtID):
		writeJSON(w, 200, map[string]any{"id": rtID, "name": "rt-apim", "properties": map[string]any{
			"disableBgpRoutePropagation": false, "routes": tableRoutes(k)}})
	case r.Method == http.MethodGet && strings.HasSuffix(lp, "/servicetags"):
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(serviceTagsJSON())
	case r.Method == http.MethodGet && strings.EqualFold(p, apimID+"/networkstatus"):
		writeJSON(w, 200, networkStatus(k, time.Now()))
	case r.Method == http.MethodGet && strings.EqualFold(p, apimID+"/outboundNetworkDependenciesEndpoints"):
		writeJSON(w, 200, dependencies())
	case r.Method == http.MethodGet && strings.EqualFold(p, apimID):
		writeJSON(w, 200, apimResource(k))
	default:
		armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource '"+p+"' was not found.")
	}
}

// subnetResource is one of the lab's subnets: the jumpbox's (snet-apim,
// with the route table when a scenario sets one), the instance's other
// one (snet-apim-prod), and the v2 modes' delegated one.
func subnetResource(p string, k knobs) map[string]any {
	switch {
	case strings.EqualFold(p, snetID):
		props := map[string]any{"addressPrefix": "198.18.1.0/24", "networkSecurityGroup": map[string]any{"id": nsgID},
			"delegations": []any{}, "ipConfigurations": []any{map[string]any{"id": jumpNICID(k) + "/ipConfigurations/ipconfig1"}}}
		if k.SplitDefault || k.DefaultToNVA {
			props["routeTable"] = map[string]any{"id": rtID}
		}
		return map[string]any{"id": snetID, "name": "snet-apim", "properties": props}
	case strings.EqualFold(p, snetProd):
		props := map[string]any{"addressPrefix": "198.18.5.0/24", "networkSecurityGroup": map[string]any{"id": nsgID}, "delegations": []any{}}
		return map[string]any{"id": snetProd, "name": "snet-apim-prod", "properties": props}
	case strings.EqualFold(p, snetV2):
		delegation := "Microsoft.Web/hostingEnvironments"
		if k.V2Integrated {
			delegation = "Microsoft.Web/serverFarms"
		}
		props := map[string]any{"addressPrefix": "198.18.4.0/24", "networkSecurityGroup": map[string]any{"id": nsgV2ID},
			"delegations": []any{map[string]any{"name": "apim", "properties": map[string]any{"serviceName": delegation}}}}
		if k.DefaultToNVA {
			props["routeTable"] = map[string]any{"id": rtID}
		}
		return map[string]any{"id": snetV2, "name": "snet-apim-v2", "properties": props}
	}
	return nil
}

// apimResource is the instance as Resource Manager shows it: its SKU and
// mode, the subnet it is in, and a second region when a scenario says so.
func apimResource(k knobs) map[string]any {
	subnet := snetID
	switch {
	case k.V2Subnet:
		subnet = snetV2
	case k.InstanceOtherSubnet:
		subnet = snetProd
	}
	// The mode is in the resource (azure-facts §12.7): a classic
	// Developer instance, internal; Premium v2 injected (Internal) in
	// snet-apim-v2; Standard v2 integrated (External) with it.
	sku, vnetType := "Developer", "Internal"
	switch {
	case k.V2Integrated:
		sku, vnetType = "StandardV2", "External"
	case k.V2Subnet:
		sku = "PremiumV2"
	}
	location := "West Europe"
	props := map[string]any{"gatewayUrl": "https://contoso.azure-api.net", "privateIPAddresses": []string{"198.18.1.5"},
		"publicIPAddresses": []string{"198.19.1.5"}, "virtualNetworkType": vnetType,
		"virtualNetworkConfiguration": map[string]any{"subnetResourceId": subnet}}
	if k.InstanceMultiRegion {
		location = "North Europe"
		props["virtualNetworkConfiguration"] = map[string]any{"subnetResourceId": snetProd}
		props["additionalLocations"] = []any{map[string]any{"location": "West Europe", "sku": map[string]any{"name": sku, "capacity": 1},
			"privateIPAddresses": []string{"198.18.1.5"}, "virtualNetworkConfiguration": map[string]any{"subnetResourceId": snetID}}}
	}
	return map[string]any{"id": apimID, "name": "contoso", "location": location,
		"sku": map[string]any{"name": sku, "capacity": 1}, "properties": props}
}

func (s *server) lroDelay(k knobs) time.Duration {
	d := 1.0
	if k.LROSeconds != nil {
		d = *k.LROSeconds
	}
	return time.Duration(d * float64(time.Second))
}

// startLRO answers a long-running POST as real ARM does for a running VM's
// NIC: 202, a Location and Retry-After 10, and a literal null body.
// labClient is the lab identity's object id in ARM's messages.
const labClient = "00000000-0000-0000-0000-00000000c11e"

// labTenant is the tenant the lab's subscription belongs to; the rejected
// token came from otherTenant.
const (
	labTenant   = "00000000-0000-0000-0000-0000000000a1"
	otherTenant = "00000000-0000-0000-0000-0000000000b2"
)

// rejectToken answers 401 as Resource Manager does (azure-facts §12.5):
// the error code and message, and WWW-Authenticate naming the right
// tenant.
func rejectToken(w http.ResponseWriter, code string) {
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.windows.net/`+labTenant+`", error="invalid_token", error_description="The access token is from the wrong issuer."`)
	msg := "The access token is invalid."
	switch code {
	case "InvalidAuthenticationTokenTenant":
		msg = "The access token is from the wrong issuer 'https://sts.windows.net/" + otherTenant + "/'. It must match the tenant 'https://sts.windows.net/" + labTenant +
			"/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/" + labTenant + "' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
	case "InvalidAuthenticationTokenAudience":
		msg = "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
	case "ExpiredAuthenticationToken":
		msg = "The access token expiry UTC time '12/7/2026 6:39:06 PM' is earlier than current UTC time '12/7/2026 8:37:39 PM'."
	}
	armError(w, http.StatusUnauthorized, code, msg)
}

func (s *server) startLRO(w http.ResponseWriter, r *http.Request, k knobs, kind string, result func() any) {
	switch {
	case k.DenyEffective:
		// The recorded wording (azure-facts §12.5): the message names the
		// action and the scope.
		action := "Microsoft.Network/networkInterfaces/effectiveRouteTable/action"
		if kind == "nsgs" {
			action = "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"
		}
		armError(w, http.StatusForbidden, "AuthorizationFailed", "The client '"+labClient+"' with object id '"+labClient+"' does not have authorization to perform action '"+action+
			"' over scope '"+nicID+"' or the scope is invalid. If access was recently granted, please refresh your credentials.")
		return
	case k.ThrottleEffective > 0:
		w.Header().Set("Retry-After", fmt.Sprint(k.ThrottleEffective))
		armError(w, http.StatusTooManyRequests, "SubscriptionRequestsThrottled", "Number of requests for subscription exceeded the limit.")
		return
	case k.Sync:
		log.Printf("served %s result", kind)
		writeJSON(w, 200, result())
		return
	}
	id := fmt.Sprintf("%s-%d", kind, time.Now().UnixNano())
	s.mu.Lock()
	s.posted[id] = time.Now()
	s.mu.Unlock()
	w.Header().Set("Location", "https://"+r.Host+"/operations/"+id+"?api-version=2025-01-01")
	w.Header().Set("Retry-After", "10")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte("null"))
}

func (s *server) pollLRO(w http.ResponseWriter, r *http.Request, k knobs, p string) {
	id := p[strings.LastIndexByte(p, '/')+1:]
	s.mu.Lock()
	posted, ok := s.posted[id]
	s.mu.Unlock()
	if !ok {
		armError(w, http.StatusNotFound, "OperationNotFound", "no such operation")
		return
	}
	if time.Since(posted) < s.lroDelay(k) {
		w.Header().Set("Location", "https://"+r.Host+r.URL.RequestURI())
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	kind, _, _ := strings.Cut(id, "-")
	log.Printf("served %s result", kind)
	if kind == "routes" {
		writeJSON(w, 200, effectiveRoutes(k))
	} else {
		writeJSON(w, 200, effectiveNSGs(k))
	}
}

func route(name, source string, prefixes []string, hop string, ips ...string) map[string]any {
	return map[string]any{"name": name, "source": source, "state": "Active", "addressPrefix": prefixes, "nextHopIpAddress": ips,
		"nextHopType": hop, "disableBgpRoutePropagation": false, "hasBgpOverride": false}
}

// vnetSpace is the lab VNet's address space: all of 198.18.0.0/16, or in
// a landing zone's spoke its subnets' alone.
func vnetSpace(k knobs) []string {
	if k.HubDNS {
		return []string{"198.18.1.0/24", "198.18.4.0/24"}
	}
	return []string{"198.18.0.0/16"}
}

// vnetResource is the lab VNet as a plain GET returns it (api-version
// 2025-01-01): its space, DNS servers, subnets with their IP
// configurations, and peerings with the remote space they add.
func vnetResource(k knobs) map[string]any {
	subnet := func(id, name, prefix string, ipcs ...string) map[string]any {
		var cs []any
		for _, c := range ipcs {
			cs = append(cs, map[string]any{"id": c})
		}
		return map[string]any{"id": id, "name": name, "properties": map[string]any{"addressPrefix": prefix, "ipConfigurations": cs,
			"provisioningState": "Succeeded", "privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled"}}
	}
	props := map[string]any{
		"provisioningState": "Succeeded",
		"addressSpace":      map[string]any{"addressPrefixes": vnetSpace(k)},
		"dhcpOptions":       map[string]any{"dnsServers": []string{vnetDNS}},
		"subnets": []any{subnet(snetID, "snet-apim", "198.18.1.0/24", jumpNICID(k)+"/ipConfigurations/ipconfig1"),
			subnet(snetV2, "snet-apim-v2", "198.18.4.0/24")},
		"virtualNetworkPeerings": []any{},
		"enableDdosProtection":   false,
	}
	if k.HubDNS {
		space := map[string]any{"addressPrefixes": []string{hubNet}}
		props["virtualNetworkPeerings"] = []any{map[string]any{"id": vnetID + "/virtualNetworkPeerings/spoke-to-hub", "name": "spoke-to-hub",
			"type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
			"properties": map[string]any{"provisioningState": "Succeeded", "peeringState": "Connected", "peeringSyncLevel": "FullyInSync",
				"remoteVirtualNetwork": map[string]any{"id": hubID}, "allowVirtualNetworkAccess": true, "allowForwardedTraffic": true,
				"allowGatewayTransit": false, "useRemoteGateways": k.HubGateway, "doNotVerifyRemoteGateways": false,
				"remoteAddressSpace": space, "remoteVirtualNetworkAddressSpace": space}}}
	}
	return map[string]any{"id": vnetID, "name": "lab-vnet", "type": "Microsoft.Network/virtualNetworks", "location": "westeurope", "properties": props}
}

// reservedPublic are the Microsoft-reserved public ranges every real
// effective table drops (next hop None, azure-facts §12.4), but one: the
// real list has 198.18.0.0/15, which is the lab's whole world (its VNet
// and its "Azure" at 198.19.0.0/16), so the lab plays a world where that
// range is public.
var reservedPublic = []string{"25.48.0.0/12", "25.4.0.0/14", "157.59.0.0/16", "25.33.0.0/16", "40.109.0.0/16",
	"104.147.0.0/16", "104.146.0.0/17", "40.108.0.0/17", "23.103.0.0/18", "25.41.0.0/20", "20.35.252.0/22"}

func effectiveRoutes(k knobs) map[string]any {
	rs := []any{
		route("", "Default", vnetSpace(k), "VnetLocal"),
		route("", "Default", []string{"0.0.0.0/0"}, "Internet"),
		route("", "Default", []string{"10.0.0.0/8"}, "None"),
		route("", "Default", []string{"100.64.0.0/10"}, "None"),
		route("", "Default", []string{"172.16.0.0/12"}, "None"),
		route("", "Default", []string{"192.168.0.0/16"}, "None"),
	}
	for _, p := range reservedPublic {
		rs = append(rs, route("", "Default", []string{p}, "None"))
	}
	if k.HubDNS {
		rs = append(rs, route("", "Default", []string{hubNet}, "VNetPeering"))
	}
	if k.HubGateway {
		rs = append(rs, route("", "VirtualNetworkGateway", []string{onPrem}, "VirtualNetworkGateway", hubGW))
	}
	if k.BGPDefault {
		// A default route learnt over BGP overrides Azure's, which is
		// then listed as Invalid; no user route is involved.
		rs[1].(map[string]any)["state"] = "Invalid"
		rs = append(rs, route("", "VirtualNetworkGateway", []string{"0.0.0.0/0"}, "VirtualNetworkGateway", hubGW))
	}
	if k.SplitDefault {
		rs = append(rs, route("to-nva-lo", "User", []string{"0.0.0.0/1"}, "VirtualAppliance", nvaIP),
			route("to-nva-hi", "User", []string{"128.0.0.0/1"}, "VirtualAppliance", nvaIP))
	}
	if k.DefaultToNVA {
		// A user route for the same prefix overrides the system route,
		// which Azure then lists as Invalid.
		rs[1].(map[string]any)["state"] = "Invalid"
		rs = append(rs, route("to-nva", "User", []string{"0.0.0.0/0"}, "VirtualAppliance", nvaIP))
	}
	return map[string]any{"value": rs}
}

// virtualNetworkTag is what the effective view expands VirtualNetwork to
// (azure-facts §12.2): the VNet's space, the peered hub's, what the
// gateway learns, the user routes' prefixes and 168.63.129.16.
func virtualNetworkTag(k knobs) []string {
	out := append([]string{}, vnetSpace(k)...)
	if k.HubDNS {
		out = append(out, hubNet)
	}
	if k.HubGateway {
		out = append(out, onPrem)
	}
	if k.BGPDefault || k.DefaultToNVA {
		out = append(out, "0.0.0.0/0")
	}
	if k.SplitDefault {
		out = append(out, "0.0.0.0/1", "128.0.0.0/1")
	}
	return append(out, "168.63.129.16/32")
}

// tableRoutes: the routes of rt-apim, as its GET lists them.
func tableRoutes(k knobs) []any {
	r := func(name, prefix string) map[string]any {
		return map[string]any{"name": name, "id": rtID + "/routes/" + name, "properties": map[string]any{
			"addressPrefix": prefix, "nextHopType": "VirtualAppliance", "nextHopIpAddress": nvaIP}}
	}
	var out []any
	if k.SplitDefault {
		out = append(out, r("to-nva-lo", "0.0.0.0/1"), r("to-nva-hi", "128.0.0.0/1"))
	}
	if k.DefaultToNVA {
		out = append(out, r("to-nva", "0.0.0.0/0"))
	}
	return out
}

type rule struct {
	name, dir, access, proto, src, dst, port string
	prio                                     int
}

// subnetRules: the lab NSG allows the control plane on 3443 (the v2 one
// has no such rule: v2 has no management endpoint) above Azure's defaults.
func subnetRules(classic bool) []rule {
	if classic {
		return []rule{{"AllowApimManagement", "Inbound", "Allow", "Tcp", "ApiManagement", "VirtualNetwork", "3443", 100}}
	}
	return nil
}

// nicRules: the jumpbox NIC's NSG nsg-jump denies one flow (knob
// nic_nsg_deny) above Azure's defaults.
func nicRules(k knobs) []rule {
	d := k.NICNSGDeny
	if d == nil {
		return nil
	}
	return []rule{{"DenyJumpboxOut", "Outbound", "Deny", "Tcp", "*", d.To, fmt.Sprint(d.Port), 200}}
}

// defaultRules are Azure's default rules of every NSG.
func defaultRules() []rule {
	return []rule{
		{"AllowVnetInBound", "Inbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", 65000},
		{"AllowAzureLoadBalancerInBound", "Inbound", "Allow", "*", "AzureLoadBalancer", "*", "*", 65001},
		{"DenyAllInBound", "Inbound", "Deny", "*", "*", "*", "*", 65500},
		{"AllowVnetOutBound", "Outbound", "Allow", "*", "VirtualNetwork", "VirtualNetwork", "*", 65000},
		{"AllowInternetOutBound", "Outbound", "Allow", "*", "*", "Internet", "*", 65001},
		{"DenyAllOutBound", "Outbound", "Deny", "*", "*", "*", "*", 65500},
	}
}

func nsgResource(id, name string, custom []rule) map[string]any {
	conv := func(kind string, rs []rule) []any {
		var out []any
		for _, r := range rs {
			out = append(out, map[string]any{"name": r.name, "id": id + "/" + kind + "/" + r.name, "properties": map[string]any{
				"protocol": r.proto, "sourcePortRange": "*", "destinationPortRange": r.port, "sourceAddressPrefix": r.src,
				"destinationAddressPrefix": r.dst, "access": r.access, "priority": r.prio, "direction": r.dir,
				"sourcePortRanges": []string{}, "destinationPortRanges": []string{}, "sourceAddressPrefixes": []string{}, "destinationAddressPrefixes": []string{}}})
		}
		return out
	}
	return map[string]any{"id": id, "name": name, "location": "westeurope", "properties": map[string]any{
		"securityRules": conv("securityRules", custom), "defaultSecurityRules": conv("defaultSecurityRules", defaultRules())}}
}

// expanded renders a rule as the effective view does: "*" as 0.0.0.0/0,
// ports as ranges, tags expanded.
func expanded(k knobs, prefix string, r rule) map[string]any {
	exp := func(it string) []string {
		switch it {
		case "*":
			return nil
		case "VirtualNetwork":
			return virtualNetworkTag(k)
		case "Internet":
			return []string{"0.0.0.0/1", "128.0.0.0/1"}
		}
		return tags[it]
	}
	star := func(s string) string {
		if s == "*" {
			return "0.0.0.0/0"
		}
		return s
	}
	port := r.port
	if port == "*" {
		port = "0-65535"
	} else if !strings.Contains(port, "-") {
		port = port + "-" + port
	}
	proto := r.proto
	if proto == "*" {
		proto = "All"
	}
	return map[string]any{"name": prefix + r.name, "protocol": proto, "sourcePortRange": "0-65535", "destinationPortRange": port,
		"sourcePortRanges": []string{"0-65535"}, "destinationPortRanges": []string{port},
		"sourceAddressPrefix": star(r.src), "destinationAddressPrefix": star(r.dst),
		"expandedSourceAddressPrefix": exp(r.src), "expandedDestinationAddressPrefix": exp(r.dst),
		"access": r.access, "priority": r.prio, "direction": r.dir}
}

func effectiveNSGs(k knobs) map[string]any {
	effective := func(custom []rule) []any {
		var rules []any
		for _, r := range custom {
			rules = append(rules, expanded(k, "securityRules/", r))
		}
		for _, r := range defaultRules() {
			rules = append(rules, expanded(k, "defaultSecurityRules/", r))
		}
		return rules
	}
	tagMap := map[string][]string{"VirtualNetwork": virtualNetworkTag(k), "AzureLoadBalancer": {"168.63.129.16/32"},
		"Internet": {"0.0.0.0/1", "128.0.0.0/1"}, "ApiManagement": tags["ApiManagement"]}
	groups := []any{map[string]any{"networkSecurityGroup": map[string]any{"id": nsgID},
		"association": map[string]any{"subnet": map[string]any{"id": snetID}}, "effectiveSecurityRules": effective(subnetRules(true)), "tagMap": tagMap}}
	if k.NICNSGDeny != nil {
		groups = append(groups, map[string]any{"networkSecurityGroup": map[string]any{"id": nsgJumpID},
			"association": map[string]any{"networkInterface": map[string]any{"id": nicID}}, "effectiveSecurityRules": effective(nicRules(k)), "tagMap": tagMap})
	}
	if k.AVNMDeny3443 {
		admin := expanded(k, "", rule{"DenyMgmt3443", "Inbound", "Deny", "Tcp", "*", "*", "3443", 10})
		groups = append(groups, map[string]any{"association": map[string]any{"networkManager": map[string]any{"id": avnmID}},
			"effectiveSecurityRules": []any{admin}, "tagMap": map[string][]string{}})
	}
	return map[string]any{"value": groups}
}

// Real Azure's list is about 3,000 tags and 4 MB (the Public cloud's
// ServiceTags file); the lab serves its own tags among as many fillers, so
// that reading and parsing it costs in the lab what it costs on a VM. The
// fillers' names are looked up by nothing and their prefixes (100.64.0.0/10
// and 2001:db8::/32) are addresses the lab never uses.
const (
	fillerTags     = 2800
	fillerPrefixes = 40 // per tag: 112,000 in all, about 3 MB
)

var serviceTagsJSON = sync.OnceValue(func() []byte {
	b, err := json.Marshal(serviceTags())
	if err != nil {
		panic(err)
	}
	return b
})

func serviceTags() map[string]any {
	var values []any
	for i := range fillerTags {
		ps := make([]string, 0, fillerPrefixes)
		for j := range fillerPrefixes {
			if j%4 == 3 {
				ps = append(ps, fmt.Sprintf("2001:db8:%x:%x::/64", i, j))
			} else {
				ps = append(ps, fmt.Sprintf("100.%d.%d.%d/30", 64+i/256%64, i%256, j*4))
			}
		}
		name := fmt.Sprintf("LabFiller%04d.Region%02d", i, i%60)
		values = append(values, map[string]any{"name": name, "id": name, "properties": map[string]any{
			"changeNumber": "2", "region": fmt.Sprintf("region%02d", i%60), "systemService": "LabFiller", "addressPrefixes": ps,
			"networkFeatures": []string{"API", "NSG", "UDR", "FW"}}})
	}
	for name, ps := range tags {
		region := ""
		if _, r, ok := strings.Cut(name, "."); ok && !strings.Contains(name, "Backend") && !strings.Contains(name, "Internal") {
			region = strings.ToLower(r)
		}
		values = append(values, map[string]any{"name": name, "id": name, "properties": map[string]any{
			"changeNumber": "2", "region": region, "systemService": "", "addressPrefixes": ps, "networkFeatures": []string{"API", "NSG", "UDR", "FW"}}})
	}
	return map[string]any{"name": "Public", "id": "/subscriptions/" + sub + "/providers/Microsoft.Network/serviceTags/Public",
		"type": "Microsoft.Network/serviceTags", "changeNumber": "2", "cloud": "Public", "values": values}
}
