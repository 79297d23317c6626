package resolver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
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

// A waiting lookup costs its own goroutine and one per question in flight,
// nothing per server it waits on: one channel tells it of any server's
// answer, and a batch of questions releases its context from the last one
// to end. Here 8 lookups wait on two silent VNet servers, then (after the
// hedge, a quarter of a 200ms try) on Azure DNS beside them too, until
// their 400ms run out; then nothing of theirs is left running.
func TestWaitingCostsNoGoroutinePerServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vnet1, vnet2, azure := memAddr(1), memAddr(2), memAddr(3)
		set := newSet(t, internal, azure, vnet1, vnet2)
		inMemory(set, map[netip.AddrPort]memServer{}) // all silent
		before := testtool.BubbleGoroutines(t)
		start := time.Now()
		const lookups = 8
		errs := make(chan error, lookups)
		for i := range lookups {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
				defer cancel()
				_, err := set.LookupHost(ctx, fmt.Sprintf("name%d.blob.core.windows.net", i))
				errs <- err
			}()
		}
		synctest.Wait()
		if n := testtool.BubbleGoroutines(t) - before; n != lookups*(1+2) {
			t.Errorf("before the hedge: %d goroutines, want %d (each lookup and its two questions)", n, lookups*3)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if n := testtool.BubbleGoroutines(t) - before; n != lookups*(1+3) {
			t.Errorf("after the hedge: %d goroutines, want %d (each lookup and its three questions)", n, lookups*4)
		}
		for range lookups {
			var de *probes.DNSError
			if err := <-errs; !errors.As(err, &de) || de.Outcome != probes.DNSTimeout {
				t.Errorf("lookup: %v, want a DNS timeout", err)
			}
		}
		if el := time.Since(start); el != 400*time.Millisecond {
			t.Errorf("lookups ended after %v, want 400ms", el)
		}
		synctest.Wait()
		if n := testtool.BubbleGoroutines(t) - before; n != 0 {
			t.Errorf("%d goroutines left after the lookups ended", n)
		}
	})
}
