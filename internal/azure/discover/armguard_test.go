package discover

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// collector is a host that is not Resource Manager: it answers like one
// (an empty list, a finished operation) and records every request that
// reaches it, and the Authorization header each carried.
type collector struct {
	*httptest.Server
	mu    sync.Mutex
	got   []string // "METHOD path" of each request
	auths []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.got = append(c.got, r.Method+" "+r.URL.Path)
		if a := r.Header.Get("Authorization"); a != "" {
			c.auths = append(c.auths, a)
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"Succeeded","value":[]}`))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) requests() ([]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...), append([]string(nil), c.auths...)
}

// A Resource Manager that points its long-running reads and its lists at
// another host (the same loopback address, another port: a host is its
// name and its port) must not make the tool send the token there, nor
// judge that host's empty answers as this VM's routes and NSGs.
func TestTokenStaysOnResourceManager(t *testing.T) {
	imds, _ := fakeIMDS(t)
	evil := newCollector(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"POST effectiveRouteTable": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", evil.URL+"/operations/routes-1?sig=secret")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusAccepted)
		},
		"POST effectiveNetworkSecurityGroups": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Azure-AsyncOperation", evil.URL+"/operations/nsgs-1")
			w.Header().Set("Location", evil.URL+"/operations/nsgs-1-result")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusAccepted)
		},
		"GET outboundNetworkDependenciesEndpoints": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":[],"nextLink":"` + evil.URL + `/subscriptions/x/page2"}`))
		},
	})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())

	got, auths := evil.requests()
	if len(got) != 0 || len(auths) != 0 {
		t.Fatalf("the other host received %v with Authorization %v", got, auths)
	}
	evilHost := strings.TrimPrefix(evil.URL, "https://")
	for _, n := range []string{snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs, snapshot.ReadDependencies} {
		r := s.Read(n)
		if r == nil || r.OK() || r.Status != snapshot.ReadFailed {
			t.Fatalf("%s read: %+v, want failed", n, r)
		}
		t.Logf("%s: %s", n, r.Message)
		if !strings.Contains(r.Message, evilHost) || !strings.Contains(r.Message, "not Resource Manager") || !strings.Contains(r.Message, "token was not sent") || strings.Contains(r.Message, "sig=") {
			t.Errorf("%s message does not name the host it refused (or shows its query): %q", n, r.Message)
		}
	}
	if s.Routes != nil || s.NSGs != nil || s.Dependencies != nil {
		t.Fatalf("a refused read left data: routes %v nsgs %v deps %v", s.Routes, s.NSGs, s.Dependencies)
	}
	// No route.* or subnet.* verdict comes from the effective views: the
	// configured view of the subnet judges instead, and says so.
	for id, r := range runChecks(t, d, o) {
		if !strings.HasPrefix(id, "route.") && !strings.HasPrefix(id, "subnet.nsg.") {
			continue
		}
		if v := r.Evidence["view"]; v == judge.ViewEffective {
			t.Errorf("%s judged from the effective view: %s %s", id, r.Status, r.Message)
		}
	}
	res := runChecks(t, d, o)
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "configured view")
}

// The instance list's nextLink (the instance is searched for in the whole
// subscription) is held to the same rule.
func TestInstanceListNextLinkStaysOnResourceManager(t *testing.T) {
	imds, _ := fakeIMDS(t)
	evil := newCollector(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET contoso": armError(http.StatusNotFound, "ResourceNotFound"),
		"GET service": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":[],"nextLink":"` + evil.URL + `/subscriptions/x/providers/Microsoft.ApiManagement/service?page=2"}`))
		},
	})
	o := baseOpts(imds.URL, arm)
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	if got, auths := evil.requests(); len(got) != 0 || len(auths) != 0 {
		t.Fatalf("the other host received %v with Authorization %v", got, auths)
	}
	r := s.Read(snapshot.ReadAPIM)
	if r == nil || r.Status != snapshot.ReadFailed || !strings.Contains(r.Message, strings.TrimPrefix(evil.URL, "https://")) {
		t.Fatalf("apim read: %+v, want failed and naming the host", r)
	}
	if s.APIM != nil {
		t.Fatalf("an instance from a refused page: %+v", s.APIM)
	}
}

// A redirect from Resource Manager is not followed, even to a host that
// would take the token.
func TestARMRedirectNotFollowed(t *testing.T) {
	imds, _ := fakeIMDS(t)
	evil := newCollector(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET jumpbox": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, evil.URL+r.URL.Path+"?sig=secret", http.StatusFound)
		},
	})
	o := baseOpts(imds.URL, arm)
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	if got, _ := evil.requests(); len(got) != 0 {
		t.Fatalf("the redirect was followed: %v", got)
	}
	r := s.Read(snapshot.ReadVM)
	if r == nil || r.Status != snapshot.ReadFailed || !strings.Contains(r.Message, "refused to follow a redirect to "+evil.URL+":") ||
		strings.Contains(r.Message, "sig=") {
		t.Fatalf("vm read: %+v, want failed, naming the redirect's host only", r)
	}
}
