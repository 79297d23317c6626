package arm

import (
	"net/url"
	"strings"
	"testing"
)

func TestARMGuardRules(t *testing.T) {
	g := newARMGuard("https://Management.Azure.com")
	for raw, ok := range map[string]bool{
		"https://management.azure.com/subscriptions/x":      true,
		"https://MANAGEMENT.azure.com:443/x":                true,
		"https://management.azure.com./x":                   true,
		"http://management.azure.com/x":                     false,
		"https://management.azure.com:8443/x":               false,
		"https://management.azure.com.evil.example/x":       false,
		"https://evil.example/https://management.azure.com": false,
		"https://user@management.azure.com/x":               false,
		"//management.azure.com/x":                          false,
		"/subscriptions/x":                                  false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.check(u, "a test"); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed %v", raw, err, ok)
		}
	}
}

// Links the code follows itself (a nextLink, a resource id from an answer)
// are checked before a request is made.
func TestARMURL(t *testing.T) {
	for path, want := range map[string]string{
		"/subscriptions/x":                           "https://management.azure.com/subscriptions/x",
		"https://management.azure.com/x?$skip=2":     "https://management.azure.com/x?$skip=2",
		"https://evil.example/x?sig=S":               "",
		"//evil.example/x":                           "",
		"subscriptions/x":                            "",
		"http://management.azure.com/x":              "",
		"https://management.azure.com:444/x":         "",
		"https://management.azure.com\x7f.example/x": "",
	} {
		u, err := URL("https://management.azure.com", path, "a nextLink")
		if u != want || (err == nil) != (want != "") {
			t.Errorf("%q: %q, %v; want %q", path, u, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "sig=") {
			t.Errorf("%q: the error shows the query: %v", path, err)
		}
	}
}
