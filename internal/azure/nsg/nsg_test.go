package nsg

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// defaults are Azure's default inbound rules as effective NSGs list them.
func defaults() []Rule {
	return []Rule{
		{Name: "defaultSecurityRules/AllowVnetInBound", Priority: 65000, Direction: "Inbound", Access: "Allow", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"},
			Sources: []string{"VirtualNetwork"}, Destinations: []string{"VirtualNetwork"},
			ExpandedSources: pfx("10.1.0.0/16", "168.63.129.16/32"), ExpandedDestinations: pfx("10.1.0.0/16", "168.63.129.16/32")},
		{Name: "defaultSecurityRules/AllowAzureLoadBalancerInBound", Priority: 65001, Direction: "Inbound", Access: "Allow", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"},
			Sources: []string{"AzureLoadBalancer"}, Destinations: []string{"0.0.0.0/0"}, ExpandedSources: pfx("168.63.129.16/32")},
		{Name: "defaultSecurityRules/DenyAllInBound", Priority: 65500, Direction: "Inbound", Access: "Deny", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"}, Sources: []string{"0.0.0.0/0"}, Destinations: []string{"0.0.0.0/0"}},
		{Name: "defaultSecurityRules/AllowVnetOutBound", Priority: 65000, Direction: "Outbound", Access: "Allow", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"}, Sources: []string{"VirtualNetwork"}, Destinations: []string{"VirtualNetwork"}},
		{Name: "defaultSecurityRules/AllowInternetOutBound", Priority: 65001, Direction: "Outbound", Access: "Allow", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"}, Sources: []string{"0.0.0.0/0"}, Destinations: []string{"Internet"}},
		{Name: "defaultSecurityRules/DenyAllOutBound", Priority: 65500, Direction: "Outbound", Access: "Deny", Protocol: "All",
			SourcePorts: []string{"0-65535"}, DestinationPorts: []string{"0-65535"}, Sources: []string{"0.0.0.0/0"}, Destinations: []string{"0.0.0.0/0"}},
	}
}

func allow(name string, prio int32, dir, proto, port string, src, dst []string, xsrc []netip.Prefix) Rule {
	return Rule{Name: "securityRules/" + name, Priority: prio, Direction: dir, Access: "Allow", Protocol: proto,
		SourcePorts: []string{"0-65535"}, DestinationPorts: []string{port}, Sources: src, Destinations: dst, ExpandedSources: xsrc}
}

func deny(name string, prio int32, dir, proto, port string, src, dst []string, xsrc []netip.Prefix) Rule {
	r := allow(name, prio, dir, proto, port, src, dst, xsrc)
	r.Access = "Deny"
	return r
}

var (
	apimPrefixes = pfx("13.64.39.16/32", "40.74.0.0/16", "52.1.2.0/24")
	subnet       = Endpoint{Tag: "VirtualNetwork", Prefixes: pfx("10.1.2.0/27")}
	mgmtFlow     = Flow{Direction: "Inbound", Protocol: "Tcp", Port: 3443, Source: Endpoint{Tag: "ApiManagement", Prefixes: apimPrefixes}, Destination: subnet, RequireAll: true}
	lbFlow       = Flow{Direction: "Inbound", Protocol: "Tcp", Port: 6390, Source: Endpoint{Tag: "AzureLoadBalancer", Prefixes: pfx("168.63.129.16/32")}, Destination: subnet, RequireAll: true}
	clientFlow   = Flow{Direction: "Inbound", Protocol: "Tcp", Port: 443, Source: Endpoint{Tag: "Internet"}, Destination: subnet}
	redisFlow    = Flow{Direction: "Inbound", Protocol: "Tcp", Port: 6381, PortHi: 6383, Source: subnet, Destination: subnet, RequireAll: true}
	syncFlow     = Flow{Direction: "Inbound", Protocol: "Udp", Port: 4290, Source: subnet, Destination: subnet, RequireAll: true}
	sqlFlow      = Flow{Direction: "Outbound", Protocol: "Tcp", Port: 1433, Source: subnet, Destination: Endpoint{Tag: "Sql.westeurope", Prefixes: pfx("51.105.64.0/27")}, RequireAll: true}
)

func TestEvaluate(t *testing.T) {
	vnet := []string{"VirtualNetwork"}
	cases := []struct {
		name    string
		rules   []Rule
		flow    Flow
		allowed bool
		by      string // decisive rule short name, "" for none
		partial bool
	}{
		{"defaults only: 3443 from ApiManagement is denied", nil, mgmtFlow, false, "DenyAllInBound", false},
		{"defaults only: 6390 from the load balancer is allowed (VirtualNetwork expands to 168.63.129.16 too)", nil, lbFlow, true, "AllowVnetInBound", false},
		{"tag allow", []Rule{allow("mgmt", 100, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, vnet, apimPrefixes)}, mgmtFlow, true, "mgmt", false},
		{"allow in a port range", []Rule{allow("mgmt", 100, "Inbound", "Tcp", "3000-4000", []string{"ApiManagement"}, vnet, nil)}, mgmtFlow, true, "mgmt", false},
		{"wrong port", []Rule{allow("mgmt", 100, "Inbound", "Tcp", "443", []string{"ApiManagement"}, vnet, nil)}, mgmtFlow, false, "DenyAllInBound", false},
		{"UDP only", []Rule{allow("mgmt", 100, "Inbound", "Udp", "3443", []string{"ApiManagement"}, vnet, nil)}, mgmtFlow, false, "DenyAllInBound", false},
		{"higher-priority deny of Internet shadows the tag allow",
			[]Rule{deny("no-internet", 100, "Inbound", "*", "*", []string{"Internet"}, []string{"*"}, nil),
				allow("mgmt", 200, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, vnet, nil)},
			mgmtFlow, false, "no-internet", false},
		{"lower-priority deny does not matter",
			[]Rule{allow("mgmt", 100, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, vnet, nil),
				deny("no-internet", 200, "Inbound", "*", "*", []string{"Internet"}, []string{"*"}, nil)},
			mgmtFlow, true, "mgmt", false},
		{"deny of one CIDR inside the tag shadows part of it",
			[]Rule{deny("block-one", 100, "Inbound", "Tcp", "3443", []string{"40.74.10.0/24"}, []string{"*"}, nil),
				allow("mgmt", 200, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, vnet, nil)},
			mgmtFlow, false, "block-one", true},
		{"allow by expanded prefixes of another tag (AzureCloud-like list)",
			[]Rule{allow("cloud", 100, "Inbound", "Tcp", "3443", []string{"SomeSuperTag"}, vnet, pfx("13.0.0.0/8", "40.0.0.0/8", "52.0.0.0/8"))},
			mgmtFlow, true, "cloud", false},
		{"allow covering only part of the tag is not enough",
			[]Rule{allow("part", 100, "Inbound", "Tcp", "3443", []string{"13.64.39.16/32", "40.74.0.0/16"}, vnet, nil)},
			mgmtFlow, false, "DenyAllInBound", false},
		{"regional ApiManagement tag covers part of the global tag",
			[]Rule{allow("regional", 100, "Inbound", "Tcp", "3443", []string{"ApiManagement.WestEurope"}, vnet, nil)},
			mgmtFlow, false, "DenyAllInBound", false},
		{"destination CIDR outside the subnet",
			[]Rule{allow("mgmt", 100, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, []string{"10.9.0.0/24"}, nil)},
			mgmtFlow, false, "DenyAllInBound", false},
		{"client deny of a few addresses does not fail Internet client traffic",
			[]Rule{deny("bad-guys", 100, "Inbound", "Tcp", "443", []string{"203.0.113.0/24"}, []string{"*"}, nil),
				allow("clients", 200, "Inbound", "Tcp", "443", []string{"Internet"}, vnet, nil)},
			clientFlow, true, "clients", false},
		{"outbound SQL allowed by the default Internet rule", nil, sqlFlow, true, "AllowInternetOutBound", false},
		{"outbound SQL: deny Internet shadows, regional allow wins when first",
			[]Rule{allow("sql", 100, "Outbound", "Tcp", "1433", vnet, []string{"Sql.WestEurope"}, nil),
				deny("no-internet", 4000, "Outbound", "*", "*", []string{"*"}, []string{"Internet"}, nil)},
			sqlFlow, true, "sql", false},
		{"outbound SQL: global Sql tag covers the regional one",
			[]Rule{allow("sql", 100, "Outbound", "Tcp", "1433", vnet, []string{"Sql"}, nil),
				deny("no-internet", 4000, "Outbound", "*", "*", []string{"*"}, []string{"Internet"}, nil)},
			sqlFlow, true, "sql", false},
		{"outbound SQL: Storage allow does not help",
			[]Rule{allow("st", 100, "Outbound", "Tcp", "1433", vnet, []string{"Storage"}, nil),
				deny("no-internet", 4000, "Outbound", "*", "*", []string{"*"}, []string{"Internet"}, nil)},
			sqlFlow, false, "no-internet", false},
		// Port ranges and UDP (the Redis caches and the rate-limit sync).
		{"range: defaults allow VirtualNetwork to VirtualNetwork", nil, redisFlow, true, "AllowVnetInBound", false},
		{"range: an allow of part of the range is not enough",
			[]Rule{deny("no-vnet", 4000, "Inbound", "*", "*", vnet, vnet, nil), allow("redis", 100, "Inbound", "Tcp", "6381-6382", vnet, vnet, nil)},
			redisFlow, false, "no-vnet", false},
		{"range: an allow of a wider range covers it",
			[]Rule{deny("no-vnet", 4000, "Inbound", "*", "*", vnet, vnet, nil), allow("redis", 100, "Inbound", "Tcp", "6380-6390", vnet, vnet, nil)},
			redisFlow, true, "redis", false},
		{"range: a deny of one port in it denies part of the flow",
			[]Rule{deny("no-6382", 100, "Inbound", "Tcp", "6382", vnet, vnet, nil)},
			redisFlow, false, "no-6382", true},
		{"UDP: a TCP allow does not carry UDP",
			[]Rule{deny("no-vnet", 4000, "Inbound", "*", "*", vnet, vnet, nil), allow("sync", 100, "Inbound", "Tcp", "4290", vnet, vnet, nil)},
			syncFlow, false, "no-vnet", false},
		{"UDP: a UDP allow does",
			[]Rule{deny("no-vnet", 4000, "Inbound", "*", "*", vnet, vnet, nil), allow("sync", 100, "Inbound", "Udp", "4290", vnet, vnet, nil)},
			syncFlow, true, "sync", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := Group{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/apim-nsg", Scope: "subnet",
				Rules: append(append([]Rule{}, c.rules...), defaults()...)}
			v := Evaluate(g, c.flow)
			got := ""
			if v.Decisive != nil {
				got = shortName(v.Decisive.Name)
			}
			if v.Allowed != c.allowed || got != c.by || v.PartialDeny != c.partial {
				t.Fatalf("allowed=%v by=%q partial=%v; want %v %q %v", v.Allowed, got, v.PartialDeny, c.allowed, c.by, c.partial)
			}
		})
	}
}

func TestFlowNamesItsRange(t *testing.T) {
	if got := redisFlow.String(); got != "Inbound TCP 6381-6383 from VirtualNetwork to VirtualNetwork" {
		t.Errorf("String() = %q", got)
	}
	res := FlowResult([]Group{{ID: "nsg-x", Scope: "subnet", Rules: []Rule{deny("no-vnet", 100, "Inbound", "*", "*", []string{"VirtualNetwork"}, []string{"VirtualNetwork"}, nil)}}}, redisFlow, false)
	if res.Status != probes.Warn || !strings.Contains(res.Hint, "TCP port 6381-6383") {
		t.Errorf("optional range flow denied: %s %q", res.Status, res.Hint)
	}
}

func TestFlowResult(t *testing.T) {
	g := Group{ID: "/x/networkSecurityGroups/apim-nsg", Scope: "subnet", Rules: append([]Rule{
		deny("no-internet", 300, "Inbound", "*", "*", []string{"Internet"}, []string{"*"}, nil),
		allow("mgmt", 400, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, []string{"VirtualNetwork"}, nil),
	}, defaults()...)}
	r := FlowResult([]Group{g}, mgmtFlow, true)
	if r.Status != probes.Fail || r.Reason != probes.ReasonNSGRule {
		t.Fatalf("got %+v", r)
	}
	if !strings.Contains(r.Message, "no-internet") || !strings.Contains(r.Hint, "below 300") || !strings.Contains(r.Hint, "apim-nsg") {
		t.Fatalf("message/hint should name the denying rule and the priority: %q / %q", r.Message, r.Hint)
	}
	// The findings name one rule once for every flow it denies: the typed
	// rule must be the deciding one, with the flow it decided.
	if rs := r.Rule; rs == nil || rs.Name != "no-internet" || rs.Priority != 300 || rs.Group != "apim-nsg" || rs.Admin ||
		rs.Port != 3443 || rs.Source != "ApiManagement" || rs.Direction != "Inbound" || rs.Access != "Deny" {
		t.Fatalf("typed rule %+v", r.Rule)
	}
	r = FlowResult([]Group{{ID: "/x/networkSecurityGroups/apim-nsg", Rules: defaults()}}, mgmtFlow, true)
	if r.Status != probes.Fail || !strings.Contains(r.Hint, "port 3443 from service tag ApiManagement") {
		t.Fatalf("default deny: %+v", r)
	}
	if r := FlowResult([]Group{{ID: "n", Rules: defaults()}}, lbFlow, true); r.Status != probes.Pass {
		t.Fatalf("lb: %+v", r)
	}
	if r := FlowResult(nil, mgmtFlow, true); r.Status != probes.Fail || r.Hint == "" {
		t.Fatalf("no NSG inbound: %+v", r)
	}
	if r := FlowResult(nil, sqlFlow, true); r.Status != probes.Pass {
		t.Fatalf("no NSG outbound: %+v", r)
	}
	if r := FlowResult([]Group{{ID: "n", Rules: defaults()}}, mgmtFlow, false); r.Status != probes.Warn {
		t.Fatalf("optional flow should warn: %+v", r)
	}
}

func admin(name string, prio int32, access, dir, port string, src, dst []string) Rule {
	r := allow(name, prio, dir, "Tcp", port, src, dst, nil)
	r.Name, r.Access = name, access
	return r
}

func adminGroup(rules ...Rule) Group {
	return Group{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkManagers/avnm-hub", Scope: ScopeNetworkManager, Rules: rules}
}

// Security admin rules of Azure Virtual Network Manager come before NSGs:
// Deny is final, AlwaysAllow is final, Allow leaves it to the NSGs
// (concept-security-admins.md). Before, FlowResult evaluated an admin group
// like one more NSG that had to allow the flow too: an AlwaysAllow was
// overruled by an NSG deny, and an admin group with no matching rule
// blocked every flow.
func TestFlowResultAdminRules(t *testing.T) {
	nsgAllows := Group{ID: "/x/networkSecurityGroups/apim-nsg", Scope: "subnet", Rules: append([]Rule{
		allow("mgmt", 400, "Inbound", "Tcp", "3443", []string{"ApiManagement"}, []string{"VirtualNetwork"}, nil),
	}, defaults()...)}
	nsgDenies := Group{ID: "/x/networkSecurityGroups/apim-nsg", Scope: "subnet", Rules: defaults()}
	vnet := []string{"VirtualNetwork"}
	cases := []struct {
		name   string
		groups []Group
		status probes.Status
		want   []string
	}{
		{"admin Deny is final although the NSG allows",
			[]Group{adminGroup(admin("block-mgmt", 10, "Deny", "Inbound", "3443", []string{"*"}, []string{"*"})), nsgAllows},
			probes.Fail, []string{"security admin rule block-mgmt (priority 10, Deny)", "avnm-hub", "before NSGs"}},
		{"admin AlwaysAllow is final although the NSG denies",
			[]Group{adminGroup(admin("always-mgmt", 10, AlwaysAllow, "Inbound", "3443", []string{"ApiManagement"}, vnet)), nsgDenies},
			probes.Pass, []string{"always-mgmt (priority 10, AlwaysAllow)", "avnm-hub", "NSGs are not consulted"}},
		{"admin Allow leaves it to the NSG, which denies",
			[]Group{adminGroup(admin("allow-mgmt", 10, "Allow", "Inbound", "3443", []string{"ApiManagement"}, vnet)), nsgDenies},
			probes.Fail, []string{"DenyAllInBound", "allow-mgmt", "leaves it to the NSGs"}},
		{"admin Allow leaves it to the NSG, which allows",
			[]Group{adminGroup(admin("allow-mgmt", 10, "Allow", "Inbound", "3443", []string{"ApiManagement"}, vnet)), nsgAllows},
			probes.Pass, []string{"mgmt (priority 400, Allow)", "allow-mgmt"}},
		{"no matching admin rule: the NSG decides",
			[]Group{adminGroup(admin("block-ssh", 10, "Deny", "Inbound", "22", []string{"*"}, []string{"*"})), nsgAllows},
			probes.Pass, []string{"mgmt (priority 400, Allow)"}},
		{"admin rules in priority order: AlwaysAllow at 5 beats Deny at 10",
			[]Group{adminGroup(admin("block-all", 10, "Deny", "Inbound", "0-65535", []string{"*"}, []string{"*"}),
				admin("always-mgmt", 5, AlwaysAllow, "Inbound", "3443", []string{"ApiManagement"}, vnet)), nsgDenies},
			probes.Pass, []string{"always-mgmt"}},
		{"admin Deny of part of the tag breaks a flow that needs all of it",
			[]Group{adminGroup(admin("block-some", 10, "Deny", "Inbound", "3443", []string{"40.74.10.0/24"}, []string{"*"})), nsgAllows},
			probes.Fail, []string{"block-some", "denies part of"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := FlowResult(c.groups, mgmtFlow, true)
			if r.Status != c.status {
				t.Fatalf("got %s/%s %q, want %s", r.Status, r.Reason, r.Message, c.status)
			}
			if r.Status == probes.Fail && (r.Reason != probes.ReasonNSGRule || r.Hint == "") {
				t.Fatalf("fail needs reason nsg-rule and a hint: %+v", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Message, w) {
					t.Errorf("message %q lacks %q", r.Message, w)
				}
			}
		})
	}
	// The hint for an admin deny points at the network manager, not an NSG.
	r := FlowResult([]Group{adminGroup(admin("block-mgmt", 10, "Deny", "Inbound", "3443", []string{"*"}, []string{"*"}))}, mgmtFlow, true)
	if !strings.Contains(r.Hint, "Virtual Network Manager avnm-hub") || !strings.Contains(r.Hint, "below 10") || strings.Contains(r.Hint, "Add to NSG") {
		t.Fatalf("hint: %q", r.Hint)
	}
}

// A rule scoped to a regional AzureMonitor tag covers only part of the
// global tag the metrics hosts live in (azure-facts §11.6): not allowed.
func TestRegionalRuleDoesNotCoverGlobalTag(t *testing.T) {
	global := Endpoint{Tag: "AzureMonitor", Prefixes: pfx("13.69.65.16/28", "20.42.0.0/16", "40.64.0.0/16")}
	f := Flow{Direction: "Outbound", Protocol: "Tcp", Port: 1886, Source: subnet, Destination: global, RequireAll: true}
	r := allow("monitor-we", 100, "Outbound", "Tcp", "1886", []string{"VirtualNetwork"}, []string{"AzureMonitor.WestEurope"}, nil)
	r.ExpandedDestinations = pfx("13.69.65.16/28")
	g := Group{ID: "/x/networkSecurityGroups/apim-nsg", Scope: "subnet", Rules: append([]Rule{
		r, deny("no-internet", 4000, "Outbound", "*", "*", []string{"*"}, []string{"Internet"}, nil)}, defaults()...)}
	v := Evaluate(g, f)
	if v.Allowed || v.Decisive == nil || shortName(v.Decisive.Name) != "no-internet" {
		t.Fatalf("regional rule passed as covering the global tag: %+v", v)
	}
}

// AzureCloud does not hold every public tag (azure-facts §12.9): global
// Storage and AzureActiveDirectory have prefixes outside it. A rule on
// AzureCloud covers them only as far as its prefixes reach, and by name
// only the tags known to lie inside.
func TestAzureCloudIsNotEveryPublicTag(t *testing.T) {
	azureCloud := func(x []netip.Prefix) Group {
		r := allow("AllowAzureCloud443", 100, "Outbound", "Tcp", "443", []string{"VirtualNetwork"}, []string{"AzureCloud"}, nil)
		r.ExpandedDestinations = x
		return Group{ID: "nsg", Scope: "subnet", Rules: append([]Rule{r,
			deny("DenyInternetOut", 4000, "Outbound", "*", "*", []string{"*"}, []string{"Internet"}, nil)}, defaults()...)}
	}
	out := func(tag string, ps ...string) Flow {
		return Flow{Direction: "Outbound", Protocol: "Tcp", Port: 443, Source: subnet, Destination: Endpoint{Tag: tag, Prefixes: pfx(ps...)}, RequireAll: true}
	}
	cases := []struct {
		name    string
		g       Group
		f       Flow
		allowed bool
	}{
		{"global Storage by prefixes, one outside AzureCloud", azureCloud(pfx("20.38.0.0/16")), out("Storage", "20.38.96.0/19", "20.60.0.0/16"), false},
		{"regional Storage by prefixes, inside", azureCloud(pfx("20.38.0.0/16")), out("Storage.WestEurope", "20.38.96.0/19"), true},
		{"global Storage by name", azureCloud(nil), out("Storage"), false},
		{"AzureActiveDirectory by name", azureCloud(nil), out("AzureActiveDirectory"), false},
		{"regional Storage by name", azureCloud(nil), out("Storage.WestEurope"), true},
		{"Key Vault by name", azureCloud(nil), out("AzureKeyVault"), true},
	}
	for _, c := range cases {
		if v := Evaluate(c.g, c.f); v.Allowed != c.allowed {
			t.Errorf("%s: allowed %v (decisive %v), want %v", c.name, v.Allowed, v.Decisive, c.allowed)
		}
	}
}
