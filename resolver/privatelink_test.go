package resolver

import (
	"net/netip"
	"testing"
	"time"
)

// PrivateLink names the privatelink hop of the VM's own answer, and
// nothing for a name without one or without an answer.
func TestPrivateLinkNamesTheHop(t *testing.T) {
	z := newZone(t,
		"orders.contoso.com. 60 IN CNAME orders.privatelink.contoso.com.",
		"orders.privatelink.contoso.com. 60 IN A 10.1.9.4",
		"plain.contoso.com. 60 IN A 10.1.9.5")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	for host, want := range map[string]string{
		"orders.contoso.com":  "orders.privatelink.contoso.com",
		"plain.contoso.com":   "",
		"missing.contoso.com": "",
	} {
		if got := set.PrivateLink(ctxT(t, 2*time.Second), host); got != want {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
}
