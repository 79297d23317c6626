package azureroots

import (
	"bytes"
	"testing"
)

// FuzzParsePEM: --azure-roots is the operator's file, but whatever it
// holds (PEM or not, blocks of any type, DER that does not parse), parse
// answers with certificates or an error, never a panic, and every
// certificate it returns is one of the file's CERTIFICATE blocks.
func FuzzParsePEM(f *testing.F) {
	f.Add(builtinPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("not pem at all"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := parse(data)
		if err != nil {
			if certs != nil {
				t.Fatalf("certificates and an error: %d, %v", len(certs), err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificate and no error")
		}
		for _, c := range certs {
			if !bytes.Contains(data, []byte("CERTIFICATE")) || len(c.Raw) == 0 {
				t.Fatalf("a certificate from nowhere")
			}
		}
		poolOf(certs)
	})
}
