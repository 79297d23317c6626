package azureroots

import (
	"crypto/x509"
	"testing"
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
