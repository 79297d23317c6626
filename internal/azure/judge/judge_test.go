package judge

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The regional tags of a multi-region instance are the judged location's
// and the primary's.
func TestRegionalTagOfTheJudgedLocation(t *testing.T) {
	s := &snapshot.Snapshot{APIM: &snapshot.APIMInfo{Location: "North Europe", AdditionalLocations: []string{"West Europe"}}, JudgedLocation: "West Europe"}
	s.ServiceTags = servicetags.NewSet("test", "public", "1", []*servicetags.Tag{
		{Name: "Storage.WestEurope", Region: "westeurope", SystemService: "AzureStorage", Prefixes: []netip.Prefix{netip.MustParsePrefix("20.38.96.0/19")}},
		{Name: "Storage.NorthEurope", Region: "northeurope", SystemService: "AzureStorage", Prefixes: []netip.Prefix{netip.MustParsePrefix("20.38.64.0/19")}},
	})
	if name, pfx := regionalTag(s, "Storage"); name != "Storage.WestEurope and Storage.NorthEurope" || len(pfx) != 2 {
		t.Errorf("regional tag %q %v", name, pfx)
	}
}

func TestWithoutAddresses(t *testing.T) {
	got := without([]netip.Prefix{netip.MustParsePrefix("10.1.2.0/29")}, []netip.Prefix{netip.MustParsePrefix("10.1.2.4/32")})
	var ss []string
	for _, p := range got {
		ss = append(ss, p.String())
	}
	if strings.Join(ss, " ") != "10.1.2.0/30 10.1.2.6/31 10.1.2.5/32" && strings.Join(ss, " ") != "10.1.2.0/30 10.1.2.5/32 10.1.2.6/31" {
		t.Errorf("got %v", ss)
	}
	for _, p := range internetSpace {
		for _, priv := range []string{"10.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1", "127.0.0.1", "224.0.0.1"} {
			if p.Contains(netip.MustParseAddr(priv)) {
				t.Errorf("Internet holds %s (%s)", priv, p)
			}
		}
	}
	if !inPrefixes(netip.MustParseAddr("20.60.0.1"), internetSpace) || !inPrefixes(netip.MustParseAddr("198.19.16.1"), internetSpace) {
		t.Error("Internet misses public space")
	}
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
