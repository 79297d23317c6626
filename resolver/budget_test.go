package resolver

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// budgetNames are six names, as the dns.* checks ask for one instance.
var budgetNames = []string{
	"contoso.azure-api.net", "contoso.portal.azure-api.net", "contoso.developer.azure-api.net",
	"contoso.management.azure-api.net", "contoso.scm.azure-api.net", "contoso-westeurope-01.regional.azure-api.net",
}

func budgetSet(tb testing.TB) *Set {
	recs := []string{publicSOA}
	for _, n := range budgetNames {
		recs = append(recs, n+". 60 IN A 10.1.2.5")
	}
	good := serve(tb, "ip4", newZone(tb, recs...))
	azure := serve(tb, "ip4", newZone(tb, recs...))
	// The silent server is the VM's second resolver.
	return newSet(tb, internal, azure, good, silent(tb))
}

// runBudget resolves the six names against the three resolvers at once, as
// the runner does, each with a 2s limit. It returns the wall time of the
// whole comparison and the slowest time for the VM's own answer
// (LookupHost), which must not wait for the silent server.
func runBudget(tb testing.TB, set *Set) (wall, answer time.Duration) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := time.Now()
	for _, n := range budgetNames {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c := set.Compare(ctx, n)
			for i, v := range c.Views {
				if i != 1 && v.Reason() != "ok" {
					tb.Errorf("%s via %s: %s", n, v.Server.Addr, v.Describe())
				}
			}
		}()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			t0 := time.Now()
			if _, err := set.LookupHost(ctx, n); err != nil {
				tb.Errorf("LookupHost(%s): %v", n, err)
			}
			mu.Lock()
			answer = max(answer, time.Since(t0))
			mu.Unlock()
		}()
	}
	wg.Wait()
	return time.Since(start), answer
}

// In virtual time, with the three servers in memory: the comparison waits
// for the silent server until the 2s limit, exactly, and the VM's own
// answer not at all.
func TestBudgetSixNamesThreeResolvers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		recs := []string{publicSOA}
		for _, n := range budgetNames {
			recs = append(recs, n+". 60 IN A 10.1.2.5")
		}
		good, azure, quiet := memAddr(1), memAddr(2), memAddr(3)
		set := newSet(t, internal, azure, good, quiet)
		inMemory(set, map[netip.AddrPort]memServer{
			good: {h: newZone(t, recs...)}, azure: {h: newZone(t, recs...)}, quiet: {},
		})
		wall, answer := runBudget(t, set)
		if wall != 2*time.Second {
			t.Errorf("comparison took %v, want the 2s limit", wall)
		}
		if answer != 0 {
			t.Errorf("the VM's answer waited %v for the silent server", answer)
		}
	})
}

func BenchmarkSixNamesThreeResolversOneSilent(b *testing.B) {
	var worstWall, worstAnswer time.Duration
	for b.Loop() {
		b.StopTimer()
		set := budgetSet(b)
		b.StartTimer()
		wall, answer := runBudget(b, set)
		worstWall, worstAnswer = max(worstWall, wall), max(worstAnswer, answer)
	}
	b.ReportMetric(float64(worstWall.Milliseconds()), "worst-wall-ms")
	b.ReportMetric(float64(worstAnswer.Microseconds())/1000, "worst-answer-ms")
}
