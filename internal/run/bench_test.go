package run

import (
	"fmt"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// A large run: 200 outcomes, a tenth of them intercepted.
func BenchmarkSummaryAndHeadline(b *testing.B) {
	var outs []probes.Outcome
	for i := 0; i < 200; i++ {
		host := fmt.Sprintf("h%d.blob.core.windows.net:443", i)
		if i%10 == 0 {
			outs = append(outs, intercepted(fmt.Sprintf("outbound.x%03d", i), host, i%20 == 0, "Contoso CA"))
		} else {
			outs = append(outs, tlsOK(fmt.Sprintf("outbound.x%03d", i), host, true))
		}
	}
	outs = append(outs, pathWarn("route.path.storage", "h0.blob.core.windows.net:443", "10.0.0.4"), egressWarn("203.0.113.9"))
	for b.Loop() {
		_ = InterceptionSummary(outs)
		_ = Headline(outs)
	}
}
