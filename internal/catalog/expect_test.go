package catalog

import (
	"net/http"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// Each judge must accept the genuine answer and refuse what a proxy, a block
// page or another server would send instead.
func TestExpectations(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	edmx := []byte(`<?xml version="1.0"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">`)
	bearer := hdr("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"`)
	for _, tc := range []struct {
		name   string
		expect Expectation
		status int
		header http.Header
		body   []byte
		want   probes.Reason // ReasonOK: accepted
	}{
		{"graph edmx", ExpectGraphMetadata, 200, nil, edmx, probes.ReasonOK},
		{"graph 403", ExpectGraphMetadata, 403, nil, []byte("blocked"), probes.ReasonHTTPStatus},
		{"graph block page", ExpectGraphMetadata, 200, nil, []byte("<html>Access denied</html>"), probes.ReasonHTTPBody},
		{"vault challenge", ExpectVaultChallenge, 401, bearer, nil, probes.ReasonOK},
		{"vault 401 without challenge", ExpectVaultChallenge, 401, hdr("WWW-Authenticate", "Basic realm=proxy"), nil, probes.ReasonHTTPBody},
		{"vault 200 from something else", ExpectVaultChallenge, 200, nil, []byte("hello"), probes.ReasonHTTPStatus},
		{"vault 403 firewall", ExpectVaultChallenge, 403, bearer, nil, probes.ReasonHTTPStatus},
		{"gateway 200", ExpectGatewayStatus, 200, nil, nil, probes.ReasonOK},
		{"gateway 503", ExpectGatewayStatus, 503, nil, nil, probes.ReasonHTTPStatus},
		{"crl 404 is a server answering", ExpectAnyHTTP, 404, nil, nil, probes.ReasonOK},
		{"crl 200", ExpectAnyHTTP, 200, nil, nil, probes.ReasonOK},
		{"proxy wants auth", ExpectAnyHTTP, 407, nil, nil, probes.ReasonHTTPStatus},
		{"proxy gateway error", ExpectAnyHTTP, 502, nil, nil, probes.ReasonHTTPStatus},
	} {
		judge := expectation(Endpoint{Expect: tc.expect})
		if judge == nil {
			t.Fatalf("%s: no judge", tc.name)
		}
		h := tc.header
		if h == nil {
			h = http.Header{}
		}
		got := judge(tc.status, h, tc.body)
		switch {
		case tc.want == probes.ReasonOK && got != nil:
			t.Errorf("%s: refused: %s", tc.name, got.Message)
		case tc.want != probes.ReasonOK && got == nil:
			t.Errorf("%s: accepted, want %s", tc.name, tc.want)
		case got != nil && (got.Reason != tc.want || got.Status != probes.Fail || got.Message == ""):
			t.Errorf("%s: %s/%s %q, want fail/%s", tc.name, got.Status, got.Reason, got.Message, tc.want)
		}
	}
}
