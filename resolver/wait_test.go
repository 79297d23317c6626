package resolver

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// slow answers like h after delay.
func slow(h dns.Handler, delay time.Duration) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		time.Sleep(delay)
		h.ServeDNS(w, r)
	})
}

// The VM's answer comes when glibc would take it: a server's answer counts
// as soon as it comes within its turn, the next server's only once the turns
// before it have passed, and a failure (SERVFAIL) ends a turn at once. With a
// 400ms budget and 2 attempts one turn (and one try) is 200ms.
func TestWaitPrimaryTurns(t *testing.T) {
	zone := func(a string) dns.Handler { return newZone(t, gw+". 60 IN A "+a) }
	fast := serve(t, "ip4", zone("10.1.2.5"))
	servfail := newZone(t)
	servfail.rcode = dns.RcodeServerFailure
	cases := []struct {
		name     string
		servers  []netip.AddrPort
		want     string
		min, max time.Duration
	}{
		{"first silent: the second counts after one turn",
			[]netip.AddrPort{silent(t), fast}, "10.1.2.5", 200 * time.Millisecond, 320 * time.Millisecond},
		{"first fails at once: no wait for its turn",
			[]netip.AddrPort{serve(t, "ip4", servfail), fast}, "10.1.2.5", 0, 100 * time.Millisecond},
		{"first answers late in its turn: it wins",
			[]netip.AddrPort{serve(t, "ip4", slow(zone("10.1.2.6"), 100*time.Millisecond)), fast}, "10.1.2.6", 100 * time.Millisecond, 199 * time.Millisecond},
		{"first silent, second answers in the first's turn: it beats the third's earlier answer",
			[]netip.AddrPort{silent(t), serve(t, "ip4", slow(zone("10.1.2.8"), 150*time.Millisecond)), fast},
			"10.1.2.8", 200 * time.Millisecond, 320 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := newSet(t, internal, netip.AddrPort{}, c.servers...)
			start := time.Now()
			addrs, err := set.LookupHost(ctxT(t, 400*time.Millisecond), gw)
			el := time.Since(start)
			if err != nil || !slices.Equal(addrs, []string{c.want}) {
				t.Fatalf("got %v %v after %v, want %s", addrs, err, el, c.want)
			}
			if el < c.min || el > c.max {
				t.Errorf("answer after %v, want %v to %v", el, c.min, c.max)
			}
		})
	}
}
