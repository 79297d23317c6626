package azureroots

import (
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

func BenchmarkDefaultPool(b *testing.B) {
	for b.Loop() {
		_ = Default()
	}
}

func BenchmarkChainEndsAtAzureRoot(b *testing.B) {
	t := &testing.T{}
	root := newCA(t, "Lab Azure Root", nil)
	issuing := newCA(t, "Lab Azure TLS Issuing CA", root)
	leaf := issuing.issue(t, "storage.test", false)
	chains := [][]*x509.Certificate{{leaf, issuing.cert, root.cert}}
	azure := poolOf([]*x509.Certificate{root.cert})
	for b.Loop() {
		if ok, _ := ChainEndsAtAzureRoot(chains, azure); !ok {
			b.Fatal("no match")
		}
	}
}

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
