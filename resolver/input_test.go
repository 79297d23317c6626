package resolver

import (
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

func TestParseServer(t *testing.T) {
	good := map[string]string{
		"10.0.0.4":            "10.0.0.4:53",
		" 10.0.0.4:5353 ":     "10.0.0.4:5353",
		"::1":                 "[::1]:53",
		"[fd00::53]:5300":     "[fd00::53]:5300",
		"::ffff:10.0.0.4":     "10.0.0.4:53",
		"168.63.129.16:53":    "168.63.129.16:53",
		"[fe80::1%eth0]:53":   "[fe80::1%eth0]:53",
		"[::ffff:1.2.3.4]:54": "1.2.3.4:54",
	}
	for in, want := range good {
		got, err := ParseServer(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseServer(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	bad := []string{"", "dns.example.com", "dns.example.com:53", "10.0.0.4:0", "10.0.0.4:65536", "10.0.0.4:-1",
		"10.0.0.4:abc", "10.0.0.4:", "[::1]", "[::1]53", "::1:53:x", "10.0.0.256", "10.0.0.4:53:53",
		// Zones that cannot be an interface: netip takes any bytes after '%'.
		"::%]0", "::1%x]:53", "fe80::1%eth0:53", "[fe80::1%a]b]:53", "[fe80::1%a:b]:53", "fe80::1%", "fe80::1%a b",
		"fe80::1%a/b", "fe80::1%0123456789abcdef", "fe80::1%é"}
	for _, in := range bad {
		_, err := ParseServer(in)
		if err == nil {
			t.Errorf("ParseServer(%q) accepted", in)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
	if _, err := ParseServer("10.0.0.4:70000"); err == nil || !strings.Contains(err.Error(), "1 to 65535") {
		t.Errorf("port out of range error: %v", err)
	}
	// A zoned address with the port outside brackets: the error names the
	// zone and shows the form that works.
	if _, err := ParseServer("::1%x]:53"); err == nil || !strings.Contains(err.Error(), `zone "x]:53"`) ||
		!strings.Contains(err.Error(), "[fe80::1%eth0]:53") {
		t.Errorf("zone error: %v", err)
	}
	for _, ok := range []string{"fe80::1%eth0", "[fe80::1%7]:53", "fe80::1%enp0s31f6", "[fe80::1%0123456789abcde]:53"} {
		if _, err := ParseServer(ok); err != nil {
			t.Errorf("ParseServer(%q): %v", ok, err)
		}
	}
}

func TestParseResolvConf(t *testing.T) {
	rc, err := ParseResolvConf(strings.NewReader(`# generated
nameserver 10.0.0.4
nameserver fd00::53 ; trailing comment
nameserver 168.63.129.16
domain first.example
search a.example. B.example
options ndots:3 timeout:2 attempts:4 rotate edns0
options timeout:bogus
sortlist 10.0.0.0/8
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.4:53", "[fd00::53]:53", "168.63.129.16:53"}
	var got []string
	for _, s := range rc.Servers {
		got = append(got, s.String())
	}
	if !slices.Equal(got, want) || !slices.Equal(rc.Search, []string{"a.example", "b.example"}) ||
		rc.Ndots != 3 || rc.Timeout != 2*time.Second || rc.Attempts != 4 {
		t.Errorf("got %+v", rc)
	}
	rc, _ = ParseResolvConf(strings.NewReader("options ndots:99 timeout:0 attempts:100\n"))
	if rc.Ndots != 15 || rc.Timeout != time.Second || rc.Attempts != 5 {
		t.Errorf("limits not applied: %+v", rc)
	}
	rc, _ = ParseResolvConf(strings.NewReader(""))
	if rc.Ndots != 1 || rc.Timeout != 5*time.Second || rc.Attempts != 2 {
		t.Errorf("defaults: %+v", rc)
	}
	for _, bad := range []string{"nameserver\n", "nameserver dns.example\n", "nameserver ::1%x]\n"} {
		if _, err := ParseResolvConf(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestLoadResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch internal.cloudapp.net\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := LoadResolvConf(p)
	if err != nil || len(rc.Servers) != 1 || rc.Search[0] != "internal.cloudapp.net" {
		t.Fatalf("%+v %v", rc, err)
	}
	if _, err := LoadResolvConf(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestSubnetAndPrivateIP(t *testing.T) {
	sub, err := ParseSubnet("10.1.2.77/24")
	if err != nil || sub.String() != "10.1.2.0/24" {
		t.Fatalf("%v %v", sub, err)
	}
	for _, bad := range []string{"10.1.2.0", "10.1.2.0/33", "subnet", ""} {
		if _, err := ParseSubnet(bad); err == nil {
			t.Errorf("ParseSubnet(%q) accepted", bad)
		}
	}
	if ip, err := ParsePrivateIP("10.1.2.5", sub); err != nil || ip.String() != "10.1.2.5" {
		t.Errorf("%v %v", ip, err)
	}
	if _, err := ParsePrivateIP("10.1.3.5", sub); err == nil || !strings.Contains(err.Error(), "outside --subnet") {
		t.Errorf("outside subnet: %v", err)
	}
	if _, err := ParsePrivateIP("10.1.3.5", netip.Prefix{}); err != nil {
		t.Errorf("unknown subnet must not reject: %v", err)
	}
	if _, err := ParsePrivateIP("vip", sub); err == nil {
		t.Error("non-IP accepted")
	}
}

func TestClass(t *testing.T) {
	e := Expectation{
		PrivateIP: netip.MustParseAddr("10.1.2.5"),
		Subnet:    netip.MustParsePrefix("10.1.2.0/24"),
		VNet:      []netip.Prefix{netip.MustParsePrefix("40.1.0.0/16")},
	}
	cases := map[string]AddrClass{
		"10.1.2.5": ClassExpectedVIP, "::ffff:10.1.2.5": ClassExpectedVIP,
		"10.1.2.6": ClassSubnet, "10.9.0.1": ClassPrivate, "192.168.1.1": ClassPrivate,
		"172.16.0.1": ClassPrivate, "100.64.1.1": ClassPrivate, "fd00::1": ClassPrivate,
		"40.1.5.5": ClassPrivate, "40.2.5.5": ClassPublic, "20.50.1.1": ClassPublic, "2603:1000::1": ClassPublic,
	}
	for a, want := range cases {
		if got := e.Class(netip.MustParseAddr(a)); got != want {
			t.Errorf("Class(%s) = %s, want %s", a, got, want)
		}
	}
}

func TestInstanceNames(t *testing.T) {
	hosts := func(ns []Name) map[string]string {
		m := map[string]string{}
		for _, n := range ns {
			m[n.ID] = n.Host
		}
		return m
	}
	ns, err := InstanceNames("Contoso", "public", probes.ModeInternal, "West Europe")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		IDGateway: "contoso.azure-api.net", IDPortal: "contoso.portal.azure-api.net",
		IDDeveloperPortal: "contoso.developer.azure-api.net", IDManagement: "contoso.management.azure-api.net",
		IDSCM: "contoso.scm.azure-api.net", IDRegionalGateway: "contoso-westeurope-01.regional.azure-api.net",
	}
	if got := hosts(ns); !maps.Equal(got, want) {
		t.Errorf("got %v", got)
	}
	if !ns[0].Required || ns[1].Required {
		t.Error("only the gateway is required")
	}
	ns, _ = InstanceNames("contoso", "usgov", probes.ModeExternal, "usgovvirginia")
	if h := hosts(ns); h[IDGateway] != "contoso.azure-api.us" || h[IDSCM] != "contoso.scm.azure-api.us" || h[IDRegionalGateway] != "" {
		t.Errorf("usgov %v", h)
	}
	ns, _ = InstanceNames("contoso", "china", probes.ModeInternal, "")
	if h := hosts(ns); h[IDGateway] != "contoso.azure-api.cn" {
		t.Errorf("china %v", h)
	}
	ns, _ = InstanceNames("contoso", "public", probes.ModeV2Injected, "westeurope")
	for _, n := range ns {
		if (n.Host != "") != (n.ID == IDGateway) || (n.Host == "" && n.SkipReason != probes.ReasonNotApplicable) {
			t.Errorf("v2-injected %+v", n)
		}
	}
	ns, _ = InstanceNames("contoso", "public", probes.ModeInternal, "")
	if r := ns[5]; r.Host != "" || r.SkipReason != probes.ReasonNoData || !strings.Contains(r.SkipHint, "--region") {
		t.Errorf("no region %+v", r)
	}
	if _, err := InstanceNames("contoso", "mars", probes.ModeInternal, ""); err == nil {
		t.Error("unknown cloud accepted")
	}
}
