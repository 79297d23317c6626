package resolver

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// lazySet is a VNet server and Azure DNS on loopback.
func lazySet(t *testing.T, vnet, azure *zone) (set *Set, vnetAddr, azureAddr netip.AddrPort) {
	t.Helper()
	vnetAddr, azureAddr = serve(t, "ip4", vnet), serve(t, "ip4", azure)
	return newSet(t, internal, azureAddr, vnetAddr), vnetAddr, azureAddr
}

// resolverOf returns the evidence of server in a lookup's "dns" evidence.
func resolverOf(t *testing.T, d probes.Detail, server netip.AddrPort) (ViewEvidence, bool) {
	t.Helper()
	for _, v := range d.Evidence["resolvers"].([]ViewEvidence) {
		if v.Resolver == server.String() {
			return v, true
		}
	}
	return ViewEvidence{}, false
}

// A passing lookup asks the VM's own server its two questions (A and
// AAAA) and Azure DNS nothing: the evidence shows only the server that
// answered. (That nothing is asked later either is
// TestHedgeIsAQuarterTryAtMost250ms's, in virtual time.)
func TestHealthyLookupAsksOnlyTheVNetServer(t *testing.T) {
	vnet := newZone(t, gw+". 60 IN A 10.1.2.5")
	azure := newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5")
	set, vnetAddr, azureAddr := lazySet(t, vnet, azure)
	d, err := set.LookupDetail(ctxT(t, 2*time.Second), gw)
	if err != nil || !slices.Equal(d.Addrs, []string{"10.1.2.5"}) {
		t.Fatalf("lookup: %v %v", d.Addrs, err)
	}
	// A second lookup of the same name asks nothing new.
	if _, err := set.LookupHost(ctxT(t, 2*time.Second), gw); err != nil {
		t.Fatal(err)
	}
	if n := vnet.queries.Load(); n != 2 {
		t.Errorf("the VNet server was asked %d questions (%v), want A and AAAA once", n, vnet.queriesSeen())
	}
	if n := azure.queries.Load(); n != 0 {
		t.Errorf("Azure DNS was asked %d questions (%v), want none", n, azure.queriesSeen())
	}
	if _, ok := resolverOf(t, d, vnetAddr); !ok {
		t.Errorf("the VNet server is not in the evidence: %+v", d.Evidence)
	}
	if v, ok := resolverOf(t, d, azureAddr); ok {
		t.Errorf("Azure DNS, not asked, is in the evidence: %+v", v)
	}
	if len(d.Lookups) != 1 || d.Lookups[0].Server != vnetAddr.String() {
		t.Errorf("lookups %+v, want the VNet server's only", d.Lookups)
	}
}

// A failed lookup (NXDOMAIN at the VNet server) asks Azure DNS, and Azure
// DNS's answer is in the evidence and the typed lookups, for the findings.
func TestFailedLookupAsksAzureDNS(t *testing.T) {
	vnet := newZone(t) // holds nothing: NXDOMAIN
	azure := newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5")
	set, _, azureAddr := lazySet(t, vnet, azure)
	d, err := set.LookupDetail(ctxT(t, 2*time.Second), gw)
	var de *probes.DNSError
	if !errors.As(err, &de) || de.Outcome != probes.DNSNXDomain {
		t.Fatalf("VM's answer %v, want NXDOMAIN", err)
	}
	v, ok := resolverOf(t, d, azureAddr)
	if !ok || v.Role != RoleAzure || v.Outcome != probes.ReasonOK || len(v.Answers) != 1 || v.Answers[0].Address != "10.1.2.5" {
		t.Errorf("Azure DNS's evidence %+v (present %v), want its answer 10.1.2.5", v, ok)
	}
	if l, ok := lookupOf(d, azureAddr); !ok || !l.Azure || l.Outcome != probes.ReasonOK {
		t.Errorf("Azure DNS's lookup %+v (present %v), want ok", l, ok)
	}
	if n := azure.queries.Load(); n != 2 {
		t.Errorf("Azure DNS was asked %d questions (%v), want A and AAAA once", n, azure.queriesSeen())
	}
}

// dns.* compares every server: after a lazy lookup of the same name it
// asks the servers not asked yet, once, and never the VNet server again.
func TestCompareAfterLazyLookupAsksTheMissingOnce(t *testing.T) {
	vnet := newZone(t, gw+". 60 IN A 10.1.2.5")
	azure := newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5")
	set, _, _ := lazySet(t, vnet, azure)
	if _, err := set.LookupHost(ctxT(t, 2*time.Second), gw); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c := set.Compare(ctxT(t, 2*time.Second), gw)
		for _, v := range c.Views {
			if v.Reason() != probes.ReasonOK {
				t.Fatalf("%s: %s", v.Server.Addr, v.Describe())
			}
		}
	}
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Pass, probes.ReasonOK)
	if ev := r.Evidence["resolvers"].([]ViewEvidence); len(ev) != 2 {
		t.Errorf("dns.gateway's evidence has %d resolvers, want both", len(ev))
	}
	// A lookup after the comparison finds every answer and asks nothing.
	d, err := set.LookupDetail(ctxT(t, 2*time.Second), gw)
	if err != nil || len(d.Lookups) != 2 {
		t.Errorf("lookup after comparing: %+v %v, want both servers' views", d.Lookups, err)
	}
	if n, m := vnet.queries.Load(), azure.queries.Load(); n != 2 || m != 2 {
		t.Errorf("questions: VNet server %d (%v), Azure DNS %d (%v); want 2 each", n, vnet.queriesSeen(), m, azure.queriesSeen())
	}
}

// counted wraps the in-memory servers of a set: when each server was
// first asked, and how many questions it got.
type counted struct {
	mu    sync.Mutex
	first map[netip.AddrPort]time.Time
	n     map[netip.AddrPort]int
}

func countAsks(set *Set) *counted {
	c := &counted{first: map[netip.AddrPort]time.Time{}, n: map[netip.AddrPort]int{}}
	ask := set.ask
	set.ask = func(ctx context.Context, addr netip.AddrPort, name string, qtypes []uint16, attempts int, perTry time.Duration) []answer {
		c.mu.Lock()
		if _, ok := c.first[addr]; !ok {
			c.first[addr] = time.Now()
		}
		c.n[addr] += len(qtypes)
		c.mu.Unlock()
		return ask(ctx, addr, name, qtypes, attempts, perTry)
	}
	return c
}

func (c *counted) asked(addr netip.AddrPort) (time.Time, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first[addr], c.n[addr]
}

// A silent VNet server: Azure DNS is asked once the hedge has passed (a
// quarter of one try: a 400ms budget and 2 attempts make a 200ms try and a
// 50ms hedge), so the timeout comes with Azure DNS's answer beside it, as
// the resolver-silent finding needs.
func TestSilentVNetServerGetsAzureDNSAfterTheHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		defer time.Sleep(time.Second) // every question ends
		custom, azure := memAddr(1), memAddr(2)
		set := newSet(t, internal, azure, custom)
		inMemory(set, map[netip.AddrPort]memServer{
			custom: {},
			azure:  {h: newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5"), delay: 10 * time.Millisecond},
		})
		asks := countAsks(set)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		d, err := set.LookupDetail(ctx, gw)
		if r, _ := probes.Classify(ctx, err); r != probes.ReasonDNSTimeout {
			t.Fatalf("VM's answer %v (%s), want dns-timeout", err, r)
		}
		first, n := asks.asked(azure)
		if first.Sub(start) != 50*time.Millisecond || n != 2 {
			t.Errorf("Azure DNS first asked after %v, %d questions; want after the 50ms hedge, A and AAAA", first.Sub(start), n)
		}
		if l, ok := lookupOf(d, azure); !ok || l.Outcome != probes.ReasonOK {
			t.Errorf("Azure DNS's view %+v (present %v), want its answer", l, ok)
		}
		if l, ok := lookupOf(d, custom); !ok || l.Outcome != probes.ReasonDNSTimeout {
			t.Errorf("the VNet server's view %+v (present %v), want dns-timeout", l, ok)
		}
	})
}

// The hedge is a quarter of one try, at most 250ms: with resolv.conf's
// 5s timeout and a budget of 10s, one try is 5s and the hedge 250ms. A VNet
// server slower than that still gives the VM's answer (Azure DNS was asked
// beside it, and shows as pending when it has not answered yet); one
// faster than that leaves Azure DNS unasked.
func TestHedgeIsAQuarterTryAtMost250ms(t *testing.T) {
	for _, c := range []struct {
		name       string
		vnetDelay  time.Duration
		azureAsked bool
	}{
		{"answers within the hedge", 249 * time.Millisecond, false},
		{"answers after the hedge", 300 * time.Millisecond, true},
	} {
		synctest.Test(t, func(t *testing.T) {
			defer time.Sleep(11 * time.Second)
			custom, azure := memAddr(1), memAddr(2)
			set := newSet(t, internal, azure, custom)
			inMemory(set, map[netip.AddrPort]memServer{
				custom: {h: newZone(t, gw+". 60 IN A 10.1.2.5"), delay: c.vnetDelay},
				azure:  {h: newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5"), delay: time.Second},
			})
			asks := countAsks(set)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := set.LookupDetail(ctx, gw)
			if err != nil || time.Since(start) != c.vnetDelay {
				t.Fatalf("%s: %v %v after %v", c.name, d.Addrs, err, time.Since(start))
			}
			time.Sleep(time.Second)
			first, n := asks.asked(azure)
			if asked := n > 0; asked != c.azureAsked {
				t.Fatalf("%s: Azure DNS asked %d questions, want asked=%v", c.name, n, c.azureAsked)
			}
			if c.azureAsked && first.Sub(start) != 250*time.Millisecond {
				t.Errorf("%s: Azure DNS asked after %v, want 250ms", c.name, first.Sub(start))
			}
			v, ok := resolverOf(t, d, azure)
			if ok != c.azureAsked || (ok && v.Outcome != "pending") {
				t.Errorf("%s: Azure DNS's evidence %+v (present %v)", c.name, v, ok)
			}
		})
	}
}

// A stub's upstream stands beside the stub as Azure DNS does: a failed
// answer from the stub asks it (its view explains the failure), a passing
// one does not.
func TestStubUpstreamAskedOnlyOnFailure(t *testing.T) {
	for _, c := range []struct {
		name   string
		stub   dns.Handler
		wantUp int
	}{
		{"stub answers", newZone(t, gw+". 60 IN A 10.1.2.5"), 0},
		{"stub says NXDOMAIN", newZone(t), 2},
	} {
		stub := serve(t, "ip4", c.stub)
		up := newZone(t, gw+". 60 IN A 10.1.2.5")
		upAddr := serve(t, "ip4", up)
		rc := DefaultResolvConf()
		rc.Servers = []netip.AddrPort{stub}
		set, err := New(Options{ResolvConf: &rc, Upstreams: Upstreams{Servers: []netip.AddrPort{upAddr}}, Expect: Fixed(internal)})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := set.LookupDetail(ctxT(t, 2*time.Second), gw)
		if n := up.queries.Load(); n != int64(c.wantUp) {
			t.Errorf("%s: the upstream was asked %d questions, want %d", c.name, n, c.wantUp)
		}
		if _, ok := lookupOf(d, upAddr); ok != (c.wantUp > 0) {
			t.Errorf("%s: upstream in the lookups %v: %+v", c.name, ok, d.Lookups)
		}
	}
}
