package discover

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/probes"
)

// plainCollector is a host that must never be asked: it counts every
// request that reaches it.
func plainCollector(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte(`{"access_token":"stolen","expires_on":"4102444800"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A metadata service that redirects is not followed: neither the instance
// document nor the token request reaches the other host.
func TestIMDSRedirectNotFollowed(t *testing.T) {
	evil, hits := plainCollector(t)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+r.URL.RequestURI(), http.StatusFound)
	}

	// The instance document.
	imds := httptest.NewServer(http.HandlerFunc(redirect))
	t.Cleanup(imds.Close)
	d := mustDiscover(t, context.Background(), Options{IMDSEndpoint: imds.URL, ARM: ARMOff})
	if msg := d.Context().IMDSError; !strings.Contains(msg, "HTTP 302, a redirect, which is not followed") || strings.Contains(msg, evil.URL) {
		t.Errorf("IMDS error %q", msg)
	}

	// The token, the instance document being served.
	good, _ := fakeIMDS(t)
	imds2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata/identity/oauth2/token" {
			redirect(w, r)
			return
		}
		// The rest as the fake serves it.
		req, _ := http.NewRequest(r.Method, good.URL+r.URL.RequestURI(), nil)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(imds2.Close)
	arm := newARM(t, nil)
	o := baseOpts(imds2.URL, arm)
	o.TokenCredential = nil
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	if !strings.Contains(s.TokenError, "HTTP 302, a redirect, which is not followed") {
		t.Errorf("token error %q", s.TokenError)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the other host was asked %d times", n)
	}
	if n := arm.calls.Load(); n != 0 {
		t.Fatalf("Resource Manager was asked %d times without a token", n)
	}
}

// On a real VM too (the default endpoint), the managed identity's token
// comes through imds.Client, not through azidentity's own client, which
// follows redirects.
func TestManagedIdentityIsOurs(t *testing.T) {
	for _, id := range []string{"", "00000000-0000-0000-0000-00000000000a"} {
		cred, name, err := arm.NewCredential(arm.CredentialConfig{IMDSEndpoint: DefaultIMDSEndpoint, Kind: probes.CredManagedIdentity, ClientID: id}, cloud.AzurePublic)
		c, ok := cred.(*imds.TokenCredential)
		if err != nil || name != probes.CredManagedIdentity || !ok || c.Endpoint != DefaultIMDSEndpoint || c.ClientID != id {
			t.Fatalf("managed identity %q: %T %+v %q %v", id, cred, cred, name, err)
		}
	}
}

// The clients for the metadata service and for azidentity's chain return
// a redirect as the answer.
func TestIdentityClientsFollowNoRedirect(t *testing.T) {
	evil, hits := plainCollector(t)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/token", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(src.Close)
	for name, c := range map[string]*http.Client{"imds": imds.Client(), "identity": arm.IdentityClient()} {
		resp, err := c.Get(src.URL)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the other host was asked %d times", n)
	}
}

// testJWT has a token's shape; echoSecret is a token of no known shape.
const (
	testJWT    = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2lnbmF0dXJlLXNpZw"
	echoSecret = "SECRETECHO-7f3a"
)

// tokenRefusingIMDS serves the instance document, and answers the token
// request 400 with a body that echoes a token and other text.
func tokenRefusingIMDS(t *testing.T, body string) *httptest.Server {
	doc := fixture(t, "imds.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata/identity/oauth2/token" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(body))
			return
		}
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// No error body from the identity endpoint reaches a message: only the
// status and the known words of a documented error.
func TestIdentityErrorBodyNotShown(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"error":"invalid_request","error_description":"Identity not found","echo":"` + testJWT + `"}`,
			"IMDS answered HTTP 400: invalid_request (Identity not found)"},
		{`{"error":"invalid_request","error_description":"bad token ` + echoSecret + ` Bearer ` + testJWT + `"}`,
			"IMDS answered HTTP 400: invalid_request"},
		{`{"error":"` + echoSecret + `","error_description":"Identity not found"}`, "IMDS answered HTTP 400: (Identity not found)"},
		{`token ` + echoSecret + ` ` + testJWT, "IMDS answered HTTP 400"},
	} {
		imds := tokenRefusingIMDS(t, tc.body)
		arm := newARM(t, nil)
		o := baseOpts(imds.URL, arm)
		o.TokenCredential = nil
		d := mustDiscover(t, context.Background(), o)
		s := d.Wait(context.Background())
		if !strings.Contains(s.TokenError, tc.want) {
			t.Errorf("token error %q, want %q", s.TokenError, tc.want)
		}
		all := s.TokenError + " " + s.Why
		for _, r := range runChecks(t, d, o) {
			all += " " + r.Message + " " + r.Hint
		}
		if strings.Contains(all, echoSecret) || strings.Contains(all, "eyJ0eXAi") || strings.Contains(all, "c2lnbmF0dXJl") {
			t.Fatalf("the identity endpoint's body reached a message: %q", all)
		}
	}
}
