package discover

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

const (
	snetJump = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-apim"
	snetProd = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-apim-prod"
)

// armWithInstance serves the instance's resource rewritten by edit, and
// snet-apim-prod as a second subnet of the VNet.
func armWithInstance(t *testing.T, edit func(string) string) *armServer {
	return newARM(t, map[string]http.HandlerFunc{
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(edit(string(fixture(t, "apim.json")))))
		},
		"GET snet-apim-prod": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.ReplaceAll(string(fixture(t, "subnet.json")), "/subnets/snet-apim\"", "/subnets/snet-apim-prod\"")))
		},
	})
}

// A classic instance whose subnet is not this VM's (a jumpbox in a
// management subnet): the instance's subnet is judged on its configured
// view, and every route.* and subnet.* message says so.
func TestClassicJudgesTheInstancesSubnet(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := armWithInstance(t, func(s string) string { return strings.Replace(s, snetJump+`"`, snetProd+`"`, 1) })
	o := baseOpts(imds.URL, arm)
	o.Phase = probes.DeployPost
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if !s.InstanceSubnet || s.Subnet == nil || !strings.EqualFold(s.Subnet.ID, snetProd) || s.JudgedLocation != "West Europe" {
		t.Fatalf("judged subnet %+v (instance's: %v, location %q)", s.Subnet, s.InstanceSubnet, s.JudgedLocation)
	}
	res := runChecks(t, d, o)
	expect(t, res, "subnet.config", res["subnet.config"].Status, res["subnet.config"].Reason, "judged on the instance's subnet", "apimprobe runs in subnet snet-apim, not in the instance's")
	for id, r := range res {
		if (strings.HasPrefix(id, "route.") || strings.HasPrefix(id, "subnet.nsg.")) && r.Reason != probes.ReasonNotApplicable && !strings.Contains(r.Message, "snet-apim-prod") {
			t.Errorf("%s does not say which subnet it judged: %s/%s %s", id, r.Status, r.Reason, r.Message)
		}
	}
}

// A multi-region instance whose additional location's subnet is this VM's:
// that subnet is judged on this VM's effective views, for that location.
func TestMultiRegionMatchesAdditionalLocation(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := armWithInstance(t, func(s string) string {
		s = strings.Replace(s, snetJump+`"`, snetProd+`"`, 1)
		s = strings.Replace(s, `"location": "West Europe",`, `"location": "North Europe",`, 1)
		return strings.Replace(s, `"properties": {`, `"properties": {"additionalLocations": [{"location": "West Europe", "sku": {"name": "Premium", "capacity": 1}, "virtualNetworkConfiguration": {"subnetResourceId": "`+snetJump+`"}}],`, 1)
	})
	o := baseOpts(imds.URL, arm)
	o.Phase = probes.DeployPost
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if s.InstanceSubnet || s.JudgedLocation != "West Europe" || s.APIM == nil || len(s.APIM.AdditionalSubnets) != 1 {
		t.Fatalf("judged: instance's %v, location %q, apim %+v", s.InstanceSubnet, s.JudgedLocation, s.APIM)
	}
	// The region judged is that location's, not the primary's.
	expect(t, runChecks(t, d, o), "subnet.region", probes.Pass, probes.ReasonOK)
}

// A cached service tag list made for another region may lack the regional
// tags of the instance's other locations: they are needed, so a list
// without them is fetched again.
func TestNeededTagsHoldTheInstancesRegions(t *testing.T) {
	s := &snapshot.Snapshot{APIM: &snapshot.APIMInfo{Location: "North Europe", AdditionalLocations: []string{"West Europe"}}, JudgedLocation: "West Europe"}
	need := neededTags(s)
	for _, n := range []string{"Storage.northeurope", "Sql.westeurope", "EventHub.northeurope"} {
		if !slices.Contains(need, n) {
			t.Errorf("needed tags lack %s: %v", n, need)
		}
	}
}
