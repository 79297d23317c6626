package servicetags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const fileShape = `{"changeNumber": 196, "cloud": "Public", "values": [
 {"name": "ApiManagement", "id": "ApiManagement", "properties": {"changeNumber": 12, "region": "", "regionId": 0, "platform": "Azure",
   "systemService": "AzureApiManagement", "addressPrefixes": ["13.64.39.16/32", "40.74.146.80/31", "2603:1000:4::140/123"], "networkFeatures": ["API","NSG","UDR","FW"]}},
 {"name": "Storage.WestEurope", "id": "Storage.WestEurope", "properties": {"changeNumber": 9, "region": "westeurope", "regionId": 18, "platform": "Azure",
   "systemService": "AzureStorage", "addressPrefixes": ["20.38.96.0/19", "52.239.128.0/17"], "networkFeatures": ["API","NSG","UDR","FW","VSE"]}}]}`

const armShape = `{"name": "public", "id": "/subscriptions/s/providers/Microsoft.Network/serviceTags/public", "type": "Microsoft.Network/serviceTags",
 "changeNumber": "63", "cloud": "Public", "values": [
 {"name": "ApiManagement", "id": "ApiManagement", "serviceTagChangeNumber": "7", "properties": {"changeNumber": "7", "region": "", "state": "GA",
   "systemService": "AzureApiManagement", "addressPrefixes": ["13.64.39.16/32", "40.74.146.80/31"]}},
 {"name": "ApiManagement.AustraliaCentral", "id": "ApiManagement.AustraliaCentral", "properties": {"changeNumber": "2", "region": "australiacentral",
   "systemService": "AzureApiManagement", "addressPrefixes": ["20.36.106.68/31"]}}]}`

func TestParseBothShapes(t *testing.T) {
	f, err := Parse(strings.NewReader(fileShape), "file:x")
	if err != nil {
		t.Fatal(err)
	}
	if f.ChangeNumber != "196" || f.Len() != 2 || len(f.Prefixes("apimanagement")) != 3 {
		t.Fatalf("file: %+v %v", f, f.Prefixes("ApiManagement"))
	}
	if tg, ok := f.Regional("Storage", "westeurope"); !ok || len(tg.Prefixes) != 2 || tg.NetworkFeatures[4] != "VSE" {
		t.Fatalf("regional: %+v %v", tg, ok)
	}
	if _, ok := f.Regional("Storage", "northeurope"); ok {
		t.Fatal("no such regional tag")
	}
	a, err := Parse(strings.NewReader(armShape), "arm")
	if err != nil {
		t.Fatal(err)
	}
	if a.ChangeNumber != "63" || a.Prefixes("ApiManagement")[1].String() != "40.74.146.80/31" {
		t.Fatalf("arm: %+v", a)
	}
	if tg, ok := a.Regional("ApiManagement", "australiacentral"); !ok || tg.Region != "australiacentral" {
		t.Fatalf("arm regional: %+v", tg)
	}
	if a.Prefixes("NoSuchTag") != nil {
		t.Fatal("unknown tag has prefixes")
	}
	var nilSet *Set
	if nilSet.Prefixes("AzureCloud") != nil || nilSet.Len() != 0 {
		t.Fatal("nil set must answer empty")
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":         `<html>`,
		"truncated":        `{"values": [ {"name": "A"`,
		"no values":        `{"changeNumber": 1}`,
		"bad change":       `{"changeNumber": true, "values": [{"name":"A"}]}`,
		"bad prefix":       `{"values": [{"name":"A","properties":{"addressPrefixes":["1.2.3.4/33"]}}]}`,
		"prefixes not arr": `{"values": [{"name":"A","properties":{"addressPrefixes":"1.2.3.0/24"}}]}`,
		"unnamed":          `{"values": [{"properties":{}}]}`,
		"name too long":    `{"values": [{"name":"` + strings.Repeat("A", 2000) + `"}]}`,
	} {
		_, err := Parse(strings.NewReader(in), "t")
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want a one-line error", name, err)
		}
	}
}

// synthetic writes a file shaped like ServiceTags_Public of about size bytes.
func synthetic(tb testing.TB, size int) string {
	type props struct {
		ChangeNumber    int      `json:"changeNumber"`
		Region          string   `json:"region"`
		RegionID        int      `json:"regionId"`
		Platform        string   `json:"platform"`
		SystemService   string   `json:"systemService"`
		AddressPrefixes []string `json:"addressPrefixes"`
		NetworkFeatures []string `json:"networkFeatures"`
	}
	type value struct {
		Name       string `json:"name"`
		ID         string `json:"id"`
		Properties props  `json:"properties"`
	}
	var vals []value
	n, total := 0, 0
	for total < size {
		v := value{Name: fmt.Sprintf("Tag%d.Region%d", n, n%60), ID: fmt.Sprintf("Tag%d", n),
			Properties: props{ChangeNumber: n, Region: fmt.Sprintf("region%d", n%60), Platform: "Azure", SystemService: "Svc", NetworkFeatures: []string{"API", "NSG", "UDR", "FW"}}}
		for i := 0; i < 200; i++ {
			k := n*200 + i
			if i%5 == 4 {
				v.Properties.AddressPrefixes = append(v.Properties.AddressPrefixes, fmt.Sprintf("2603:%x:%x::/48", k>>16&0xffff, k&0xffff))
			} else {
				v.Properties.AddressPrefixes = append(v.Properties.AddressPrefixes, fmt.Sprintf("%d.%d.%d.0/24", 20+k>>16&0x3f, k>>8&0xff, k&0xff))
			}
			total += 31
		}
		vals = append(vals, v)
		n++
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"changeNumber": 196, "cloud": "Public", "values": vals}); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "ServiceTags_Public_synthetic.json")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestLoadBudget: a 4 MB file loads in under 300 ms and 60 MB.
func TestLoadBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("budget test")
	}
	p := synthetic(t, 4<<20)
	st, _ := os.Stat(p)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := Load(p)
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("file %.1f MB, %d tags: %v, %.1f MB allocated", float64(st.Size())/1e6, s.Len(), el, float64(alloc)/1e6)
	if st.Size() < 4e6 {
		t.Fatalf("synthetic file too small: %d", st.Size())
	}
	if el > 300*time.Millisecond*budgetSlack() || alloc > 60<<20 {
		t.Fatalf("over budget: %v, %d bytes", el, alloc)
	}
}

// The race detector slows decoding several times over.
func budgetSlack() time.Duration {
	if raceEnabled {
		return 10
	}
	return 1
}

func BenchmarkLoad4MB(b *testing.B) {
	p := synthetic(b, 4<<20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(p); err != nil {
			b.Fatal(err)
		}
	}
}

// Only Storage, Sql and EventHub have regional tags API Management's NSG
// rules may use (virtual-network-reference.md, "Regional service tags").
func TestRegionalAllowed(t *testing.T) {
	for tag, want := range map[string]bool{
		"Storage": true, "Sql": true, "EventHub": true, "storage.westeurope": true,
		"AzureKeyVault": false, "AzureMonitor": false, "AzureMonitor.WestEurope": false, "ApiManagement": false, "": false,
	} {
		if got := RegionalAllowed(tag); got != want {
			t.Errorf("%q: %v, want %v", tag, got, want)
		}
	}
}
