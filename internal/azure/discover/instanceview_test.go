package discover

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

func TestDiscoverReadsTheInstanceView(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	o.Phase = "post"
	d := mustDiscover(t, context.Background(), o)
	v := d.InstanceView(context.Background())
	if v == nil || !v.Status.OK() || !v.Deps.OK() {
		t.Fatalf("instance view: %+v", v)
	}
	if len(v.Locations) != 1 || v.Locations[0].DNSServers[0] != "10.1.0.4" || len(v.Locations[0].Rows) != 13 {
		t.Errorf("locations: %+v", v.Locations)
	}
	// The wildcard of the dependency list cannot be dialled and is left out.
	if len(v.Dependencies) != 6 {
		t.Errorf("dependencies: %+v", v.Dependencies)
	}
	if dep := v.Dependencies[5]; dep.Host != "ocsp.msocsp.com" || len(dep.Ports) != 2 || dep.Category != "SSL Certificate Verification" {
		t.Errorf("dependency: %+v", dep)
	}
	if v.Status.CLI == "" || v.Status.Permission != "Microsoft.ApiManagement/service/networkstatus/read" {
		t.Errorf("read: %+v", v.Status)
	}
	d.Wait(context.Background())
}

func TestNoInstanceViewBeforeDeployment(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	o.Phase = "pre"
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if s.Read(snapshot.ReadNetworkStatus) != nil || s.Read(snapshot.ReadDependencies) != nil {
		t.Errorf("read the instance's view before deployment: %+v", s.Reads)
	}
}

// NetworkStatus dates are .NET DateTimes (azure-facts §12.8): a row with a
// date without a zone, the zero date, an empty string or null keeps the read
// and every other row; that date alone is unknown.
func TestNetworkStatusDotNetDates(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{"GET networkstatus": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, "networkstatus-dotnet-dates.json"))
	}})
	o := baseOpts(imds.URL, arm)
	o.Phase = "post"
	d := mustDiscover(t, context.Background(), o)
	v := d.InstanceView(context.Background())
	if v == nil || !v.Status.OK() || len(v.Locations) != 1 {
		t.Fatalf("the read was lost: %+v", v)
	}
	rows := v.Locations[0].Rows
	if len(rows) != 6 {
		t.Fatalf("rows: %+v", rows)
	}
	want := []string{"2026-12-04T16:39:33Z", "2026-12-04T16:42:10Z", "", "", "", "2026-12-04T16:39:33Z"}
	for i, r := range rows {
		got := ""
		if !r.LastUpdated.IsZero() {
			got = r.LastUpdated.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
		if got != want[i] {
			t.Errorf("row %d (%s) lastUpdated %q, want %q", i, r.Name, got, want[i])
		}
		if r.Stale(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) != (want[i] != "") {
			t.Errorf("row %d: an unknown date is never stale, a known old one is", i)
		}
	}
	if rows[2].Status != "success" || rows[3].Status != "initializing" || !rows[5].LastStatusChange.IsZero() {
		t.Errorf("the rest of the rows: %+v", rows)
	}
	d.Wait(context.Background())
}
