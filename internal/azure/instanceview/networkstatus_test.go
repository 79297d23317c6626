package instanceview

import (
	"encoding/json"
	"os"
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
	b, err := os.ReadFile("../discover/testdata/networkstatus.json") // the recorded answer, beside the reads' other fixtures
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}
