//go:build linux

package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"
)

// cpuTime is the process's user plus system CPU time so far: what a
// benchmark that mostly waits on the network costs the machine, which
// ns/op (wall time) does not show.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time used per iteration since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// One question over UDP to an in-process server: the cost of the exchange
// itself.
func BenchmarkExchangeUDP(b *testing.B) {
	benchExchange(b, newZone(b, gw+". 60 IN A 10.1.2.5"), "udp")
}

// A truncated UDP answer asked again over TCP.
func BenchmarkExchangeTruncatedThenTCP(b *testing.B) {
	z := newZone(b, gw+". 60 IN A 10.1.2.5")
	z.truncateUDP = true
	benchExchange(b, z, "tcp")
}

// benchExchange asks z for the gateway's A record, over and over, and
// wants the one answer over transport.
func benchExchange(b *testing.B, z *zone, transport string) {
	addr := serve(b, "ip4", z)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		res, err := exchange(ctx, addr, gw, dns.TypeA, 2, time.Second)
		cancel()
		if err != nil || len(res.msg.Answer) != 1 || res.transport != transport {
			b.Fatal(res, err)
		}
	}
	reportCPU(b, cpu0)
}

// The VM's first resolver is silent: LookupHost waits one try's timeout
// (here 400ms / 2 attempts = 200ms) before the second resolver's answer
// counts. The wait should cost next to no CPU.
func BenchmarkLookupHostFirstResolverSilent(b *testing.B) {
	dead := silent(b)
	good := serve(b, "ip4", newZone(b, gw+". 60 IN A 10.1.2.5"))
	cpu0 := cpuTime(b)
	for b.Loop() {
		set := newSet(b, internal, netip.AddrPort{}, dead, good)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		addrs, err := set.LookupHost(ctx, gw)
		cancel()
		if err != nil || len(addrs) != 1 {
			b.Fatal(addrs, err)
		}
	}
	reportCPU(b, cpu0)
}

// A healthy run's worth of dependency lookups: 50 names, 8 at a time, at a
// VNet server and Azure DNS on loopback, each name looked up as a probe
// does (LookupDetail). It reports the questions both servers got and the
// CPU used, the servers' included (they stand for unbound): a passing
// lookup asks the VNet server A and AAAA on one socket, and Azure DNS
// nothing.
func BenchmarkHealthyRunOfLookups(b *testing.B) {
	const names = 50
	var records []string
	hosts := make([]string, names)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("dep%d.core.windows.net", i)
		records = append(records, hosts[i]+". 60 IN A 198.19.16."+strconv.Itoa(i+1))
	}
	vnet, azure := newZone(b, records...), newZone(b, records...)
	vnetAddr, azureAddr := serve(b, "ip4", vnet), serve(b, "ip4", azure)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		set := newSet(b, internal, azureAddr, vnetAddr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var g errgroup.Group
		g.SetLimit(8)
		for _, h := range hosts {
			g.Go(func() error {
				_, err := set.LookupDetail(ctx, h)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(vnet.queries.Load()+azure.queries.Load())/float64(b.N), "questions/op")
}
