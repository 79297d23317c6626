package servicetags

import (
	"strings"
	"testing"
)

// A service tags document is a downloaded file or Resource Manager's
// answer: whatever it holds, Parse returns a set or an error, never panics,
// and what it returns is consistent (every prefix valid, every tag named).
func FuzzParse(f *testing.F) {
	f.Add(`{"changeNumber":196,"cloud":"Public","values":[{"name":"ApiManagement","id":"ApiManagement","properties":{"changeNumber":1,"addressPrefixes":["13.64.39.16/32","2603:1000::/47"]}}]}`)
	f.Add(`{"values":[{"name":"Storage.WestEurope","properties":{"region":"westeurope","addressPrefixes":["20.60.0.0/16"],"networkFeatures":["API","NSG","UDR","FW","VSE"]}}]}`)
	f.Add(`{"values":[{"name":"","properties":{"addressPrefixes":["bad"]}}]}`)
	f.Add(`{"changeNumber":"x","values":null}`)
	f.Add(`{"values":[{"name":"A","properties":{"addressPrefixes":["10.0.0.1/33","::/-1","1.2.3.4"]}}]}`)
	f.Add(`[` + strings.Repeat(`[`, 1000))
	f.Add("")
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := Parse(strings.NewReader(doc), "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a multi-line error: %q", err)
			}
			return
		}
		if s.Len() == 0 {
			t.Fatalf("a set with no tag and no error")
		}
		for _, name := range s.Names() {
			if name == "" {
				t.Fatalf("a tag without a name")
			}
			for _, p := range s.Prefixes(name) {
				if !p.IsValid() {
					t.Fatalf("tag %s: invalid prefix %v", name, p)
				}
			}
		}
	})
}
