package servicetags

import (
	"encoding/json"
	"net/netip"
	"slices"
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

// The direct reading of addressPrefixes gives what encoding/json gives,
// for any array the decoder lets through.
func FuzzPrefixList(f *testing.F) {
	for _, s := range []string{`[]`, `null`, ` [ "10.0.0.0/8" , "2603:1000::/47","1.2.3.4" ] `, `["10.0.0.0\/8"]`,
		`["bad"]`, `[1]`, `["a",`, "[\"10.0.0.0/8\"\n,\t\"::/0\"]", `["10.0.0.1/33"]`, `[""]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return // the decoder never hands such bytes over
		}
		var fast prefixList
		fastErr := fast.UnmarshalJSON([]byte(raw))
		var texts []string
		slowErr := json.Unmarshal([]byte(raw), &texts)
		if (fastErr != nil) != (slowErr != nil) {
			t.Fatalf("%q: errors differ: %v / %v", raw, fastErr, slowErr)
		}
		if slowErr != nil {
			return
		}
		var want []netip.Prefix
		var wantBad error
		for _, s := range texts {
			p, err := parsePrefix(s)
			if err != nil {
				wantBad = err
				break
			}
			want = append(want, p)
		}
		if (fast.bad != nil) != (wantBad != nil) {
			t.Fatalf("%q: bad prefix %v, want %v", raw, fast.bad, wantBad)
		}
		if wantBad == nil && !slices.Equal(fast.prefixes, want) {
			t.Fatalf("%q: %v, want %v", raw, fast.prefixes, want)
		}
	})
}
