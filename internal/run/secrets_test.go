package run

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/probes"
)

// A metadata service whose token answer (HTTP 400) echoes a token: the
// whole report, every check and finding, says why there is no token
// without a byte of that body.
func TestIdentityErrorBodyNotInReport(t *testing.T) {
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXNpZw"
	const echo = "SECRETECHO-7f3a"
	doc := fixture(t, "imds.json")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata/identity/oauth2/token" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_request","error_description":"` + echo + ` ` + jwt + `","token":"` + jwt + `"}`))
			return
		}
		w.Write(doc)
	}))
	t.Cleanup(imds.Close)
	arm := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Resource Manager asked without a token: %s", r.URL.Path)
	}))
	t.Cleanup(arm.Close)
	cfg := baseConfig(t, dnsServer(t, map[string]string{"contoso.azure-api.net": "10.1.2.5"}))
	cfg.Service = "contoso"
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imds.URL, ARM: azdiscover.ARMAuto, ARMEndpoint: arm.URL, ARMTransport: arm.Client(),
		Service: "contoso", Mode: probes.ModeInternal, Phase: probes.DeployPost}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, echo) || strings.Contains(s, "eyJ0eXAi") || strings.Contains(s, "c2lnbmF0dXJl") {
		t.Fatalf("the identity endpoint's body reached the report: %s", s)
	}
	if n := strings.Count(s, "IMDS answered HTTP 400: invalid_request"); n == 0 {
		t.Fatalf("no message says why there is no token: %s", s)
	}
}
