package resolver

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// explainSet is a VNet server and Azure DNS, in memory; Azure DNS answers
// after azureDelay (never when silent).
func explainSet(t *testing.T, vnet *zone, azureDelay time.Duration, azureSilent bool) (*Set, netip.AddrPort) {
	t.Helper()
	custom, azure := memAddr(1), memAddr(2)
	set := newSet(t, internal, azure, custom)
	azureSrv := memServer{h: newZone(t, publicSOA, gw+". 60 IN A 10.1.2.5"), delay: azureDelay}
	if azureSilent {
		azureSrv = memServer{}
	}
	inMemory(set, map[netip.AddrPort]memServer{custom: {h: vnet}, azure: azureSrv})
	return set, azure
}

func lookupOf(d probes.Detail, server netip.AddrPort) (probes.Lookup, bool) {
	for _, l := range d.Lookups {
		if l.Server == server.String() {
			return l, true
		}
	}
	return probes.Lookup{}, false
}

// A VNet server that answers NXDOMAIN at once for a name Azure DNS
// resolves a little later: the failed lookup waits for Azure DNS's answer,
// so the diagnosis always sees it (before, whether it was there depended on
// which answer came first, and the no-forward finding's count with it).
func TestFailedLookupWaitsForAzureDNS(t *testing.T) {
	for _, c := range []struct {
		name  string
		rcode int
		want  probes.Reason
	}{
		{"nxdomain", 0, probes.ReasonNXDomain},
		{"servfail", dns.RcodeServerFailure, probes.ReasonServFail},
	} {
		synctest.Test(t, func(t *testing.T) {
			defer time.Sleep(time.Second) // every question ends, even after a failure
			vnet := newZone(t)            // holds nothing: NXDOMAIN for every name
			vnet.rcode = c.rcode
			set, azure := explainSet(t, vnet, 30*time.Millisecond, false)
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			defer cancel()
			start := time.Now()
			d, err := set.LookupDetail(ctx, gw)
			if r, _ := probes.Classify(ctx, err); r != c.want {
				t.Fatalf("%s: VM's answer %v (%s), want %s", c.name, err, r, c.want)
			}
			l, ok := lookupOf(d, azure)
			if !ok || !l.Azure || l.Outcome != probes.ReasonOK {
				t.Fatalf("%s: Azure DNS's view %+v (present %v), want its answer ok; lookups %+v", c.name, l, ok, d.Lookups)
			}
			if el := time.Since(start); el != 30*time.Millisecond {
				t.Errorf("%s: took %v, want Azure DNS's 30ms and no more", c.name, el)
			}
		})
	}
}

// A passing answer waits for no other server: Azure DNS's late view is
// still pending, left out of the lookups.
func TestPassingLookupDoesNotWaitForAzureDNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		defer time.Sleep(time.Second) // every question ends, even after a failure
		vnet := newZone(t, gw+". 60 IN A 10.1.2.5")
		set, azure := explainSet(t, vnet, 30*time.Millisecond, false)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		start := time.Now()
		d, err := set.LookupDetail(ctx, gw)
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("the VM's answer waited %v", el)
		}
		if l, ok := lookupOf(d, azure); ok {
			t.Errorf("Azure DNS's view %+v, want it left out (pending)", l)
		}
	})
}

// Azure DNS silent: the failed lookup waits for it no longer than its
// limit, the VM's answer stays NXDOMAIN (not a timeout of the lookup), and
// Azure DNS is a timeout in the lookups (it had the whole limit to answer).
func TestFailedLookupAzureDNSSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		defer time.Sleep(time.Second) // every question ends, even after a failure
		set, azure := explainSet(t, newZone(t), 0, true)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		start := time.Now()
		d, err := set.LookupDetail(ctx, gw)
		var de *probes.DNSError
		if !errors.As(err, &de) || de.Outcome != probes.DNSNXDomain {
			t.Fatalf("VM's answer %v, want NXDOMAIN", err)
		}
		if el := time.Since(start); el != 400*time.Millisecond {
			t.Errorf("took %v, want the 400ms limit", el)
		}
		if l, ok := lookupOf(d, azure); !ok || l.Outcome != probes.ReasonDNSTimeout {
			t.Errorf("Azure DNS's view %+v (present %v), want dns-timeout", l, ok)
		}
	})
}
