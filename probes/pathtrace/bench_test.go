//go:build linux

package pathtrace

import (
	"context"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

// Four TTL probes in parallel to a loopback listener: the cost of a trace
// when the destination answers at once.
func BenchmarkTraceLoopback(b *testing.B) {
	dst := testtool.Accepting(b)
	for b.Loop() {
		hops, err := Trace(context.Background(), dst, 4)
		if err != nil || hops[0].Kind != Reached {
			b.Fatal(err, hops)
		}
	}
}

// netnsBenches are the paths BenchmarkTraceNetns traces in the namespace lab
// of netns_test.go: the router's nft rules and what a trace must find.
var netnsBenches = []struct {
	name  string
	rules []string
	late  time.Duration // the router answers this late (slowRouter)
	want  Kind          // what hop 1 must be; the server answers at hop 2
}{
	// Azure's case: the fabric before the destination never answers, so
	// the trace waits for the silent hop. This is what a healthy run pays.
	{"silent-hop", []string{"chain egress_out { type filter hook output priority 0; icmp type time-exceeded drop; }"}, 0, Silent},
	// An appliance that answers: nothing is left to wait for.
	{"appliance", nil, 0, TimeExceeded},
	// An appliance that answers 2 ms after the server: found, and the
	// trace ends when it answers.
	{"late-appliance", nil, 2 * time.Millisecond, TimeExceeded},
}

// BenchmarkTraceNetns times Trace across a real router: client — router —
// server in network namespaces. The trace runs in a child process inside the
// client namespace (sockets belong to the namespace of the thread that makes
// them); the child's ns/op is reported as this benchmark's.
func BenchmarkTraceNetns(b *testing.B) {
	if os.Getenv(scenarioEnv) == "bench" {
		benchTraceNetnsChild(b)
		return
	}
	if os.Getenv(scenarioEnv) != "" {
		b.Skip("inside a test child")
	}
	l := newLab(b)
	l.serve(b)
	benchtime := "1s"
	if f := flag.Lookup("test.benchtime"); f != nil {
		benchtime = f.Value.String()
	}
	for _, bc := range netnsBenches {
		l.rules(b, bc.rules...)
		stop := func() {}
		if bc.late > 0 {
			stop = l.slowRouter(b, bc.late)
		}
		b.Run(bc.name, func(b *testing.B) {
			cmd := exec.Command("ip", "netns", "exec", l.client, os.Args[0], "-test.run=^$",
				"-test.bench=^BenchmarkTraceNetns$/^"+bc.name+"$", "-test.benchtime="+benchtime, "-test.count=1")
			cmd.Env = append(os.Environ(), scenarioEnv+"=bench")
			out, err := cmd.CombinedOutput()
			m := regexp.MustCompile(`(?m)^BenchmarkTraceNetns/` + regexp.QuoteMeta(bc.name) + `\S*\s+\d+\s+([0-9.]+) ns/op`).FindSubmatch(out)
			if err != nil || m == nil {
				b.Fatalf("child: %v\n%s", err, out)
			}
			ns, _ := strconv.ParseFloat(string(m[1]), 64)
			b.ReportMetric(ns, "ns/op")
		})
		stop()
	}
}

func benchTraceNetnsChild(b *testing.B) {
	dst := netip.MustParseAddrPort("198.19.1.2:443")
	for _, bc := range netnsBenches {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				hops, err := Trace(ctx, dst, 4)
				cancel()
				if err != nil || hops[0].Kind != bc.want || hops[1].Kind != Reached {
					b.Fatal(err, hops)
				}
			}
		})
	}
}
