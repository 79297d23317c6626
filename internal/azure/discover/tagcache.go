package discover

import (
	"context"
	"strings"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// Resource Manager's service tag list (3–4 MB, changed about weekly) is
// kept between runs in Options.CacheDir (servicetags.Cache): a run takes
// the cached list of its cloud, region and endpoint when it is less than a
// day old and holds every tag the run needs, else fetches it and stores
// what it fetched. The tags a run needs are analysisTags and those the
// routes name without listing their prefixes; a needed tag that the
// cached list lacks (and that the list did not already lack when it was
// fetched) makes the run fetch the list again before the analyses see it,
// and so does a needed tag whose part of the cache file is not sound (its
// checksum: servicetags.Set.Check), which the store then replaces.

// analysisTags are the tags the analyses and the egress check look up by
// name, in any mode (TestAnalysisTagsAreWhatTheChecksAsk holds the list
// to the checks).
var analysisTags = []string{"ApiManagement", "AzureActiveDirectory", "AzureCloud", "AzureConnectors", "AzureKeyVault",
	"AzureMonitor", "AzureTrafficManager", "EventHub", "Sql", "Storage"}

// tagCacheState is what the cache gave the run.
type tagCacheState struct {
	hit    bool     // the list came from the cache
	absent []string // needed names the cached list was known to lack
}

func (s *armSession) tagCacheKey(in *imds.Instance) (servicetags.Cache, servicetags.Key) {
	return servicetags.Cache{Dir: s.o.CacheDir}, servicetags.Key{Cloud: string(s.o.cloudFor(in)),
		Location: strings.ToLower(strings.ReplaceAll(in.Location, " ", "")), Endpoint: s.Endpoint()}
}

// cachedTags is the cached list when there is a usable one holding every
// analysis tag, each sound, else nil.
func (s *armSession) cachedTags(in *imds.Instance) *servicetags.Set {
	if s.o.CacheDir == "" || in.Location == "" {
		return nil
	}
	c, k := s.tagCacheKey(in)
	set, absent, err := c.Load(k, time.Now(), analysisTags...)
	if err != nil || len(lacking(set, analysisTags, absent)) > 0 {
		return nil
	}
	s.mu.Lock()
	s.tagCache = tagCacheState{hit: true, absent: absent}
	s.mu.Unlock()
	return set
}

// settleTagCache runs once every read is done, before the analyses see
// the snapshot: a cached list that lacks a tag the routes name, or holds a
// needed tag unsoundly, is fetched again; a fetched list is stored.
func (s *armSession) settleTagCache(ctx context.Context, in *imds.Instance) {
	if s.o.CacheDir == "" || in.Location == "" {
		return
	}
	s.mu.Lock()
	set, st, needed := s.snap.ServiceTags, s.tagCache, neededTags(s.snap)
	s.mu.Unlock()
	if set == nil {
		return // the read failed: nothing to store
	}
	if st.hit {
		if len(lacking(set, needed, st.absent)) == 0 && set.Check(needed) == nil {
			return
		}
		fresh, err := s.ServiceTags(ctx, in.Location, networkAPIVersion)
		if err != nil {
			return // the cached list stands
		}
		s.mu.Lock()
		s.snap.ServiceTags = fresh
		s.mu.Unlock()
		set = fresh
	}
	c, k := s.tagCacheKey(in)
	c.Store(k, set, lacking(set, needed, nil), time.Now()) // a cache that cannot be written is no cache
}

// neededTags: analysisTags and the tags routes name without their
// prefixes (the analyses expand those from the list).
func neededTags(snap *snapshot.Snapshot) []string {
	out := append([]string(nil), analysisTags...)
	for _, r := range snap.Routes {
		for _, t := range r.ServiceTags {
			if _, ok := r.TagPrefixes[t]; !ok {
				out = append(out, t)
			}
		}
	}
	if snap.Configured != nil {
		for _, r := range snap.Configured.UDRs {
			out = append(out, r.ServiceTags...)
		}
	}
	// The regional tags of the instance's locations, which a region's
	// analyses judge beside its own (§11.6): a list cached for another
	// instance may lack them.
	if a := snap.APIM; a != nil {
		for _, loc := range append([]string{a.Location, snap.JudgedLocation}, a.AdditionalLocations...) {
			if loc == "" {
				continue
			}
			for _, base := range []string{"Storage", "Sql", "EventHub"} {
				out = append(out, base+"."+snapshot.RegionName(loc))
			}
		}
	}
	return out
}

// lacking lists the names of needed that set lacks, but for those in
// known (case-insensitive).
func lacking(set *servicetags.Set, needed, known []string) []string {
	var out []string
	for _, n := range needed {
		if set.Has(n) {
			continue
		}
		isKnown := false
		for _, k := range known {
			isKnown = isKnown || strings.EqualFold(k, n)
		}
		if !isKnown {
			out = append(out, n)
		}
	}
	return out
}
