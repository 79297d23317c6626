package discover

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// depsList is a dependency list of hosts × ports, as Resource Manager
// words it.
func depsList(hosts, ports int) string {
	var eps []string
	for h := range hosts {
		var det []string
		for p := range ports {
			det = append(det, fmt.Sprintf(`{"port":%d,"region":"West Europe"}`, 1000+p))
		}
		eps = append(eps, fmt.Sprintf(`{"domainName":"h%d.blob.core.windows.net","endpointDetails":[%s]}`, h, strings.Join(det, ",")))
	}
	return `{"value":[{"category":"Azure Storage","endpoints":[` + strings.Join(eps, ",") + `]}]}`
}

// A list of 500 hosts × 100 ports (43,099 connections before) and one of
// 200 × 2,000 keep at most 16 ports per host and 512 pairs in all, and
// say what they left out.
func TestDependencyListCut(t *testing.T) {
	imds, _ := fakeIMDS(t)
	for _, tc := range []struct{ hosts, ports int }{{500, 100}, {200, 2000}, {3, 20}, {5, 2}} {
		body := depsList(tc.hosts, tc.ports)
		arm := newARM(t, map[string]http.HandlerFunc{
			"GET outboundNetworkDependenciesEndpoints": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(body))
			},
		})
		s := mustDiscover(t, context.Background(), baseOpts(imds.URL, arm)).Wait(context.Background())
		if r := s.Read(snapshot.ReadDependencies); !r.OK() {
			t.Fatalf("%d×%d: %+v", tc.hosts, tc.ports, r)
		}
		pairs := 0
		for _, d := range s.Dependencies {
			if len(d.Ports) > 16 {
				t.Errorf("%d×%d: %s keeps %d ports", tc.hosts, tc.ports, d.Host, len(d.Ports))
			}
			pairs += len(d.Ports)
		}
		listed := tc.hosts * tc.ports
		want := min(tc.hosts*min(tc.ports, 16), 512)
		cut := s.DependenciesCut
		if pairs != want || cut.Pairs != listed-want {
			t.Errorf("%d×%d: %d pairs kept, %d cut; want %d and %d", tc.hosts, tc.ports, pairs, cut.Pairs, want, listed-want)
		}
		if w := cut.Words(); (cut.Pairs == 0) != (w == "") || (w != "" && !strings.Contains(w, fmt.Sprintf("%d host:port pairs", listed-want))) {
			t.Errorf("%d×%d: words %q", tc.hosts, tc.ports, w)
		}
		t.Logf("%d×%d: %d pairs kept; %s", tc.hosts, tc.ports, pairs, cut.Words())
	}
}
