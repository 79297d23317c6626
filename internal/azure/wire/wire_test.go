package wire

import (
	"net/netip"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":     "10.0.0.0/8",
		" 10.1.2.3/16 ":  "10.1.0.0/16", // masked, trimmed
		"198.18.0.4":     "198.18.0.4/32",
		"2001:db8::1":    "2001:db8::1/128",
		"2001:db8::/32":  "2001:db8::/32",
		"AzureCloud":     "",
		"*":              "",
		"10.0.0.0/33":    "",
		"":               "",
		"10.0.0.0/8/8":   "",
		"Sql.WestEurope": "",
	} {
		p, ok := ParsePrefix(in)
		got := ""
		if ok {
			got = p.String()
		}
		if got != want {
			t.Errorf("ParsePrefix(%q) = %q, %v; want %q", in, got, ok, want)
		}
		if !ok && p != (netip.Prefix{}) {
			t.Errorf("ParsePrefix(%q) failed with %v", in, p)
		}
	}
}

func TestContainsFold(t *testing.T) {
	ss := []string{"Microsoft.Sql", "AzureCloud"}
	if !ContainsFold(ss, "microsoft.sql") || !ContainsFold(ss, "AZURECLOUD") || ContainsFold(ss, "Storage") || ContainsFold(nil, "") {
		t.Errorf("ContainsFold over %q", ss)
	}
}
