package resolver

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
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

// When the caller's time ends with no server answering, a server that said
// nothing is a timeout in the typed lookups — not left out as "pending" —
// even though its own question ends at the same instant as the caller's:
// the findings name a silent resolver from these.
func TestGivenUpLookupNamesTheSilentServer(t *testing.T) {
	dead := silent(t)
	alsoDead := silent(t)
	set := newSet(t, internal, alsoDead, dead)
	for i := range 20 {
		host := fmt.Sprintf("name%d.blob.core.windows.net", i)
		d, err := set.LookupDetail(ctxT(t, 60*time.Millisecond), host)
		if err == nil {
			t.Fatalf("%s: silent servers answered %v", host, d.Addrs)
		}
		if len(d.Lookups) != 2 {
			t.Fatalf("%s: lookups %+v, want both servers as timeouts", host, d.Lookups)
		}
		for _, l := range d.Lookups {
			if l.Outcome != probes.ReasonDNSTimeout {
				t.Fatalf("%s: %s is %s, want dns-timeout", host, l.Server, l.Outcome)
			}
		}
	}
}
