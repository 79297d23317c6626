package resolver

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apimprobe/apimprobe/probes"
	"github.com/miekg/dns"
)

// The VM's answer comes when glibc would take it: a server's answer counts
// as soon as it comes within its turn, the next server's only once the turns
// before it have passed, and a failure (SERVFAIL) ends a turn at once. With a
// 400ms budget and 2 attempts one turn (and one try) is 200ms. In virtual
// time, with servers in memory: each wait is exact.
func TestWaitPrimaryTurns(t *testing.T) {
	zone := func(a string) dns.Handler { return newZone(t, gw+". 60 IN A "+a) }
	servfail := newZone(t)
	servfail.rcode = dns.RcodeServerFailure
	silent := memServer{}
	fast := memServer{h: zone("10.1.2.5")}
	cases := []struct {
		name    string
		servers []memServer
		want    string
		after   time.Duration
	}{
		{"first silent: the second counts after one turn",
			[]memServer{silent, fast}, "10.1.2.5", 200 * time.Millisecond},
		{"first fails at once: no wait for its turn",
			[]memServer{{h: servfail}, fast}, "10.1.2.5", 0},
		{"first answers late in its turn: it wins",
			[]memServer{{h: zone("10.1.2.6"), delay: 100 * time.Millisecond}, fast}, "10.1.2.6", 100 * time.Millisecond},
		{"first silent, second answers in the first's turn: it beats the third's earlier answer",
			[]memServer{silent, {h: zone("10.1.2.8"), delay: 150 * time.Millisecond}, fast}, "10.1.2.8", 200 * time.Millisecond},
	}
	for _, c := range cases {
		synctest.Test(t, func(t *testing.T) {
			set := memSet(t, c.servers...)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			defer cancel()
			addrs, err := set.LookupHost(ctx, gw)
			el := time.Since(start)
			if err != nil || !slices.Equal(addrs, []string{c.want}) {
				t.Fatalf("%s: got %v %v after %v, want %s", c.name, addrs, err, el, c.want)
			}
			if el != c.after {
				t.Errorf("%s: answer after %v, want %v", c.name, el, c.after)
			}
			// The silent servers' questions end with the budget (virtual
			// time: this takes no time).
			time.Sleep(400*time.Millisecond - el)
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
