package discover

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

func TestParseStatusName(t *testing.T) {
	for _, c := range []struct {
		name, rt string
		host     string
		port     int
	}{
		{"apimstm5lkxxxxx4kky0.blob.core.windows.net", "BlobStorage", "apimstm5lkxxxxx4kky0.blob.core.windows.net", 443},
		{"apirpsqlxxxx.database.windows.net", "SQLDatabase", "apirpsqlxxxx.database.windows.net", 1433},
		{"apimst.file.core.windows.net", "FileStorage", "apimst.file.core.windows.net", 445},
		{"https://apikv-xxxx.vault.azure.net", "AzureKeyVault", "apikv-xxxx.vault.azure.net", 443},
		{"https://global.prod.microsoftmetrics.com/", "Monitoring", "global.prod.microsoftmetrics.com", 443},
		{"https://xxxxx.prod.microsoftmetrics.com:1886/RecoveryService", "Metrics", "xxxxx.prod.microsoftmetrics.com", 1886},
		{"prod3.prod.microsoftmetrics.com:1886/RecoveryService", "Metrics", "prod3.prod.microsoftmetrics.com", 1886},
		{"https://X.management.azure-api.net:3443/servicestatus?api-version=2018-01-01", "ApiManagement Control Plane - inbound", "x.management.azure-api.net", 3443},
		{"smtpi-xxx.msn.com:25028", "Email", "smtpi-xxx.msn.com", 25028},
		{"Prod.Warmpath.MSFTcloudes.com.", "Monitoring", "prod.warmpath.msftcloudes.com", 443},
		{"LocalGatewayRedis", "InternalCache", "", 0},
		{"Scm", "SourceControl", "", 0},
		{"https://[::1", "Monitoring", "", 0},
		{"*.hip.live.com", "CaptchaEndpoint", "", 0},
	} {
		h, p := ParseStatusName(c.name, c.rt)
		if h != c.host || p != c.port {
			t.Errorf("ParseStatusName(%q, %q) = %q, %d; want %q, %d", c.name, c.rt, h, p, c.host, c.port)
		}
	}
}

func TestStatusRowsMatchChecks(t *testing.T) {
	locs := convertStatus(statusWire(mustFixtureStatus(t)))
	for _, c := range []struct {
		desc   string
		host   string
		port   int
		rt     string
		status string // "" for no match
	}{
		{"bare host and type", "apimstm5lkxxxxx4kky0.blob.core.windows.net", 443, "BlobStorage", "success"},
		{"host case and trailing dot", "APIMSTM5LKXXXXX4KKY0.blob.core.windows.net.", 443, "BlobStorage", "success"},
		{"the SQL row failing", "apirpsqlxxxxxxxx.database.windows.net", 1433, "SQLDatabase", "failure"},
		{"a check without a resource type matches by host and port", "apirpsqlxxxxxxxx.database.windows.net", 1433, "", "failure"},
		{"wrong port", "apirpsqlxxxxxxxx.database.windows.net", 443, "SQLDatabase", ""},
		{"wrong type", "apimstm5lkxxxxx4kky0.blob.core.windows.net", 443, "TableStorage", ""},
		{"one host, two types: Queue", "apimstm5lkxxxxx4kky0.queue.core.windows.net", 443, "Queue", "success"},
		{"URL name", "apikv-xxxx.vault.azure.net", 443, "AzureKeyVault", "success"},
		{"host:port/path name", "prod3.prod.microsoftmetrics.com", 1886, "Metrics", "success"},
		{"file storage on 445", "apimstm5lkxxxxx4kky0.file.core.windows.net", 445, "FileStorage", "success"},
		{"a check without a host matches its resource type", "", 0, "ApiManagement Control Plane - inbound", "success"},
		{"a check without host or type matches nothing", "", 0, "", ""},
		{"a logical name matches nothing", "localgatewayredis", 443, "InternalCache", ""},
	} {
		got := snapshot.StatusFor(locs, c.host, c.port, c.rt)
		switch {
		case c.status == "" && len(got) != 0:
			t.Errorf("%s: matched %+v", c.desc, got)
		case c.status != "" && (len(got) != 1 || got[0].Status != c.status || got[0].Location != "West Europe"):
			t.Errorf("%s: got %+v, want one %s row of West Europe", c.desc, got, c.status)
		}
	}
	sql := snapshot.StatusFor(locs, "apirpsqlxxxxxxxx.database.windows.net", 1433, "SQLDatabase")[0]
	if sql.Error != "Connection timed out" || sql.Optional || sql.LastUpdated.IsZero() || !sql.LastStatusChange.Before(sql.LastUpdated) {
		t.Errorf("SQL row: %+v", sql)
	}
	// Refreshed every 15 minutes at staggered times: stale only once a
	// refresh was missed (30 minutes).
	now := sql.LastUpdated.Add(25 * time.Minute)
	if locs[0].Rows[0].Stale(now) || !locs[0].Rows[0].Stale(now.Add(6*time.Minute)) {
		t.Errorf("staleness: a row is stale after 30 minutes, not before")
	}
}

func mustFixtureStatus(t *testing.T) statusWire {
	t.Helper()
	var w statusWire
	if err := json.Unmarshal(fixture(t, "networkstatus.json"), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

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
