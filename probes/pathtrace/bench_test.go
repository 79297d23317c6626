//go:build linux

package pathtrace

import (
	"context"
	"testing"
)

// Four TTL probes in parallel to a loopback listener: the cost of a trace
// when the destination answers at once.
func BenchmarkTraceLoopback(b *testing.B) {
	t := &testing.T{}
	dst := listen(t)
	for b.Loop() {
		hops, err := Trace(context.Background(), dst, 4)
		if err != nil || hops[0].Kind != Reached {
			b.Fatal(err, hops)
		}
	}
}
