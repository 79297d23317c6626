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
