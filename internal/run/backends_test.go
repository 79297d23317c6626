package run

import (
	"slices"
	"testing"

	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// --backend adds one backend.* check per host and port, the same in plan
// and run, optional unless --backend-required.
func TestBackendsInPlanAndRun(t *testing.T) {
	refused := testtool.Refusing(t)
	bs, err := catalog.ParseBackends([]string{"http://" + refused.String() + "/a", "http://" + refused.String() + "/b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, required := range []bool{false, true} {
		cfg := baseConfig(t, dnsServer(t, nil))
		cfg.Backends, cfg.BackendRequired, cfg.Only = bs, required, []string{"backend"}
		planned, rep := planAndRun(t, cfg)
		want := []string{catalog.BackendID("127.0.0.1", int(refused.Port()))}
		if p, r := ids(planned), reportIDs(rep); !slices.Equal(p, want) || !slices.Equal(r, want) {
			t.Fatalf("plan %v, run %v, want %v", p, r, want)
		}
		c := byID(rep)[want[0]]
		if c.Status != probes.Fail || c.Reason != probes.ReasonRefused || c.Required != required || c.Category != catalog.CategoryBackends {
			t.Errorf("required %v: %+v", required, c)
		}
		wantVerdict := map[bool]string{false: "degraded", true: "blocked"}[required]
		if rep.Summary.Verdict != wantVerdict {
			t.Errorf("required %v: verdict %s, want %s", required, rep.Summary.Verdict, wantVerdict)
		}
	}
}
