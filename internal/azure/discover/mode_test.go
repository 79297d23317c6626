package discover

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The instance's mode from its resource (azure-facts §12.7).
func TestModeOf(t *testing.T) {
	for _, tc := range []struct {
		sku, vnet string
		want      probes.Mode
	}{
		{"Premium", "Internal", probes.ModeInternal},
		{"Developer", "External", probes.ModeExternal},
		{"PremiumV2", "Internal", probes.ModeV2Injected},
		{"StandardV2", "External", probes.ModeV2Integrated},
		{"Premium", "None", ""},
		{"BasicV2", "", ""},
	} {
		got, why := snapshot.ModeOf(&snapshot.APIMInfo{Name: "contoso", SKU: tc.sku, VNetType: tc.vnet})
		if got != tc.want || (got == "" && !strings.Contains(why, "no virtual network")) {
			t.Errorf("%s %s: %q (%s), want %q", tc.sku, tc.vnet, got, why, tc.want)
		}
	}
}

// A --mode the instance contradicts is one required failure naming both;
// without --mode the instance's mode is taken and said.
func TestModeCheck(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil) // apim.json: Premium, Internal
	o := baseOpts(imds.URL, arm)
	o.Mode, o.Phase = probes.ModeExternal, probes.DeployPost
	d := mustDiscover(t, context.Background(), o)
	expect(t, runChecks(t, d, o), "instance.mode", probes.Fail, probes.ReasonSubnetConfig,
		"the instance is internal (virtualNetworkType Internal, SKU Premium); --mode says external", "--mode internal")

	o = baseOpts(imds.URL, arm)
	o.ModeAuto, o.Phase = true, probes.DeployPost
	d = mustDiscover(t, context.Background(), o)
	if m, why := d.InstanceMode(context.Background()); m != probes.ModeInternal {
		t.Errorf("InstanceMode: %q %s", m, why)
	}
	expect(t, runChecks(t, d, o), "instance.mode", probes.Pass, probes.ReasonOK, "mode internal, taken from the instance")

	// A v2 instance: its own subnet is read, the mode being v2.
	v2 := newARM(t, map[string]http.HandlerFunc{"GET contoso": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b := strings.Replace(string(fixture(t, "apim.json")), `"name": "Premium"`, `"name": "PremiumV2"`, 1)
		w.Write([]byte(b))
	}})
	o = baseOpts(imds.URL, v2)
	o.ModeAuto, o.Phase = true, probes.DeployPost
	d = mustDiscover(t, context.Background(), o)
	if m, _ := d.InstanceMode(context.Background()); m != probes.ModeV2Injected {
		t.Errorf("PremiumV2 Internal: %q", m)
	}
	if s := d.Wait(context.Background()); !s.V2 {
		t.Errorf("a v2 instance's snapshot is not judged as v2")
	}
}
