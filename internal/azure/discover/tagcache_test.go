package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// tagServer counts the service tag list's GETs and serves fixture's tags
// plus extra ones.
type tagServer struct {
	t     *testing.T
	mu    sync.Mutex
	gets  int
	auth  []string
	extra []string
}

func (ts *tagServer) handler(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	ts.gets++
	ts.auth = append(ts.auth, r.Header.Get("Authorization"))
	extra := slices.Clone(ts.extra)
	ts.mu.Unlock()
	var doc map[string]any
	if err := json.Unmarshal(fixture(ts.t, "service-tags-arm.json"), &doc); err != nil {
		ts.t.Fatal(err)
	}
	values := doc["values"].([]any)
	for _, name := range extra {
		values = append(values, map[string]any{"name": name, "id": name, "properties": map[string]any{"addressPrefixes": []string{"198.18.200.0/24"}}})
	}
	doc["values"] = values
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

func (ts *tagServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.gets
}

// The service tag list is fetched once and then taken from the cache
// directory, with the same analyses; the cache holds no token.
func TestServiceTagsCachedBetweenRuns(t *testing.T) {
	imds, _ := fakeIMDS(t)
	ts := &tagServer{t: t}
	arm := newARM(t, map[string]http.HandlerFunc{"GET serviceTags": ts.handler})
	o := baseOpts(imds.URL, arm)
	o.CacheDir = filepath.Join(t.TempDir(), "cache")

	run := func() (*snapshot.Snapshot, map[string]probes.Result) {
		d := mustDiscover(t, context.Background(), o)
		s := d.Wait(context.Background())
		if r := s.Read(snapshot.ReadServiceTags); !r.OK() {
			t.Fatalf("service tags read: %+v", r)
		}
		return s, runChecks(t, d, o)
	}
	first, firstRes := run()
	if ts.count() != 1 || first.ServiceTags.Source != "arm" {
		t.Fatalf("first run: %d fetches, source %q", ts.count(), first.ServiceTags.Source)
	}
	second, secondRes := run()
	if ts.count() != 1 {
		t.Errorf("second run fetched the list again (%d fetches)", ts.count())
	}
	if !strings.HasPrefix(second.ServiceTags.Source, "cache:"+o.CacheDir) {
		t.Errorf("second run's list came from %q", second.ServiceTags.Source)
	}
	for id, r := range firstRes {
		if s := secondRes[id]; s.Status != r.Status || s.Reason != r.Reason || s.Message != r.Message {
			t.Errorf("%s: %s/%s %q from the cache, %s/%s %q fetched", id, s.Status, s.Reason, s.Message, r.Status, r.Reason, r.Message)
		}
	}
	files, err := os.ReadDir(o.CacheDir)
	if err != nil || len(files) != 1 {
		t.Fatalf("cache directory: %v %v", files, err)
	}
	raw, _ := os.ReadFile(filepath.Join(o.CacheDir, files[0].Name()))
	for _, secret := range append(ts.auth, "fake_token") {
		tok := strings.TrimPrefix(secret, "Bearer ")
		if tok != "" && bytes.Contains(raw, []byte(tok)) {
			t.Errorf("the cache file holds the token %q", tok)
		}
	}
}

// A cached list that lacks a tag a route names is fetched again before
// the analyses see it; a tag the fresh list lacks too is remembered as
// absent, so the next run takes the cache.
func TestServiceTagsRefetchedForATagTheRoutesName(t *testing.T) {
	imds, _ := fakeIMDS(t)
	ts := &tagServer{t: t}
	withRoute := false
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET serviceTags": ts.handler,
		"POST effectiveRouteTable": func(w http.ResponseWriter, r *http.Request) {
			var doc map[string]any
			json.Unmarshal(fixture(t, "effective-routes.json"), &doc)
			if withRoute {
				doc["value"] = append(doc["value"].([]any), map[string]any{"name": "to-new-tag", "source": "User", "state": "Active",
					"addressPrefix": []string{}, "destinationServiceTags": []string{"AzureNewService"}, "nextHopType": "VirtualAppliance",
					"nextHopIpAddress": []string{"10.0.0.4"}})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
		},
	})
	o := baseOpts(imds.URL, arm)
	o.CacheDir = filepath.Join(t.TempDir(), "cache")
	run := func() *snapshot.Snapshot { return discoverTags(t, o) }
	run() // the list is fetched and cached, without AzureNewService
	if ts.count() != 1 {
		t.Fatalf("%d fetches", ts.count())
	}
	// A route now names AzureNewService, which Azure has just added.
	withRoute = true
	ts.mu.Lock()
	ts.extra = []string{"AzureNewService"}
	ts.mu.Unlock()
	s := run()
	if ts.count() != 2 || !s.ServiceTags.Has("AzureNewService") {
		t.Fatalf("a route's tag missing from the cache: %d fetches, tag in the list %v", ts.count(), s.ServiceTags.Has("AzureNewService"))
	}
	if s := run(); ts.count() != 2 || !strings.HasPrefix(s.ServiceTags.Source, "cache:") {
		t.Errorf("the refreshed list was not cached: %d fetches, %q", ts.count(), s.ServiceTags.Source)
	}
	// AzureFrontDoor.Backend (named by a route of the fixture) is in no
	// list: the run after it was found missing takes the cache all the
	// same.
	if s.ServiceTags.Has("AzureFrontDoor.Backend") {
		t.Fatal("the fixture changed")
	}
}

// A cached list whose part for a tag the run needs is corrupt is not
// trusted: the list is fetched again and the cache file replaced, and the
// next run takes the cache again. An analysis tag is checked when the
// cache is read, a tag of the instance's region once the reads are done.
func TestServiceTagsRefetchedForACorruptTag(t *testing.T) {
	for _, tc := range []struct {
		tag    string
		prefix []byte // the tag's first prefix as the cache encodes it (its length, the address)
		last   bool   // the last of the file's copies of it (Storage has it first)
	}{
		{"ApiManagement", []byte{32, 13, 64, 39, 16}, false},
		{"Storage.WestEurope", []byte{19, 20, 38, 96, 0}, true},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			imds, _ := fakeIMDS(t)
			ts := &tagServer{t: t}
			arm := newARM(t, map[string]http.HandlerFunc{"GET serviceTags": ts.handler})
			o := baseOpts(imds.URL, arm)
			o.CacheDir = filepath.Join(t.TempDir(), "cache")
			run := func() *snapshot.Snapshot { return discoverTags(t, o) }
			first := run().ServiceTags.Prefixes(tc.tag)
			files, _ := os.ReadDir(o.CacheDir)
			if len(files) != 1 || len(first) == 0 {
				t.Fatalf("cache directory: %v, tag %v", files, first)
			}
			path := filepath.Join(o.CacheDir, files[0].Name())
			raw, _ := os.ReadFile(path)
			at := bytes.Index(raw, tc.prefix)
			if tc.last {
				at = bytes.LastIndex(raw, tc.prefix)
			}
			if at < 0 {
				t.Fatalf("%s's first prefix is not in the cache file", tc.tag)
			}
			raw[at+2]++
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			s := run()
			if ts.count() != 2 || s.ServiceTags.Source != "arm" {
				t.Fatalf("a corrupt cached tag: %d fetches, source %q", ts.count(), s.ServiceTags.Source)
			}
			if p := s.ServiceTags.Prefixes(tc.tag); !slices.Equal(p, first) {
				t.Errorf("%s %v, want %v", tc.tag, p, first)
			}
			if s := run(); ts.count() != 2 || !strings.HasPrefix(s.ServiceTags.Source, "cache:") {
				t.Errorf("the replaced cache was not taken: %d fetches, %q", ts.count(), s.ServiceTags.Source)
			} else if p := s.ServiceTags.Prefixes(tc.tag); !slices.Equal(p, first) {
				t.Errorf("%s from the replaced cache %v, want %v", tc.tag, p, first)
			}
		})
	}
}

// Without a usable cache directory the list is fetched on every run and
// the run goes on.
func TestServiceTagsWithoutACacheDirectory(t *testing.T) {
	imds, _ := fakeIMDS(t)
	ts := &tagServer{t: t}
	arm := newARM(t, map[string]http.HandlerFunc{"GET serviceTags": ts.handler})
	o := baseOpts(imds.URL, arm)
	shared := filepath.Join(t.TempDir(), "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	o.CacheDir = shared // writable by everyone: not trusted
	for range 2 {
		s := mustDiscover(t, context.Background(), o).Wait(context.Background())
		if r := s.Read(snapshot.ReadServiceTags); !r.OK() || s.ServiceTags.Source != "arm" {
			t.Fatalf("service tags read: %+v, source %q", r, s.ServiceTags.Source)
		}
	}
	if ts.count() != 2 {
		t.Errorf("%d fetches, want 2", ts.count())
	}
	if files, _ := os.ReadDir(shared); len(files) != 0 {
		t.Errorf("written to a directory others can write: %v", files)
	}
}

// neededTags names every tag the analyses look up, in every mode: the
// cache is only complete for the run if it holds them.
func TestAnalysisTagsAreWhatTheChecksAsk(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	asked := map[string]bool{}
	for _, mode := range probes.Modes() {
		o := baseOpts(imds.URL, arm)
		o.Mode = mode
		d := mustDiscover(t, context.Background(), o)
		s := d.Wait(context.Background())
		runChecks(t, d, o)
		needed := neededTags(s)
		for _, n := range s.ServiceTags.Asked() {
			base, region, regional := strings.Cut(n, ".")
			if regional && strings.EqualFold(region, s.Region) {
				n = base // a regional variant, with the global tag to fall back on
			}
			asked[strings.ToLower(n)] = true
			if !slices.ContainsFunc(needed, func(x string) bool { return strings.EqualFold(x, n) }) {
				t.Errorf("mode %s: the checks ask for %q, which neededTags does not name", mode, n)
			}
		}
	}
	for _, n := range analysisTags {
		// AzureCloud is the egress check's (internal/run); AzureTrafficManager
		// is asked for a multi-region instance only.
		if !asked[strings.ToLower(n)] && n != "AzureCloud" && n != "AzureTrafficManager" {
			t.Errorf("analysisTags names %q, which no check asks for", n)
		}
	}
}

// discoverTags runs discovery with o to its end and fails the test unless
// the service tags were read.
func discoverTags(t *testing.T, o Options) *snapshot.Snapshot {
	t.Helper()
	s := mustDiscover(t, context.Background(), o).Wait(context.Background())
	if r := s.Read(snapshot.ReadServiceTags); !r.OK() {
		t.Fatalf("service tags read: %+v", r)
	}
	return s
}
