package servicetags

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// armSized is a Resource Manager answer of the public cloud's size, shaped
// as the lab's armfake makes it: 2,800 tags of 40 prefixes (a quarter
// IPv6), 2.8 MB, and a few real tags.
func armSized(tb testing.TB) []byte {
	tb.Helper()
	var values []any
	for i := range 2800 {
		ps := make([]string, 0, 40)
		for j := range 40 {
			if j%4 == 3 {
				ps = append(ps, fmt.Sprintf("2001:db8:%x:%x::/64", i, j))
			} else {
				ps = append(ps, fmt.Sprintf("100.%d.%d.%d/30", 64+i/256%64, i%256, j*4))
			}
		}
		name := fmt.Sprintf("LabFiller%04d.Region%02d", i, i%60)
		values = append(values, map[string]any{"name": name, "id": name, "properties": map[string]any{
			"changeNumber": "1", "region": fmt.Sprintf("region%02d", i%60), "systemService": "LabFiller", "addressPrefixes": ps,
			"networkFeatures": []string{"API", "NSG", "UDR", "FW"}}})
	}
	for name, ps := range map[string][]string{
		"ApiManagement":      {"13.64.39.16/32", "40.74.146.80/31", "2603:1000:4::140/123"},
		"Storage.WestEurope": {"20.38.96.0/19", "52.239.128.0/17"},
		"AzureCloud":         {"20.0.0.0/8", "40.64.0.0/10", "::ffff:10.0.0.0/104"},
	} {
		region := ""
		if _, r, ok := strings.Cut(name, "."); ok {
			region = strings.ToLower(r)
		}
		values = append(values, map[string]any{"name": name, "id": name, "properties": map[string]any{
			"region": region, "systemService": "Azure", "addressPrefixes": ps, "networkFeatures": []string{"API", "NSG", "UDR", "FW", "VSE"}}})
	}
	b, err := json.Marshal(map[string]any{"name": "Public", "changeNumber": "196", "cloud": "Public", "values": values})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func armSizedSet(tb testing.TB) *Set {
	tb.Helper()
	s, err := Parse(bytes.NewReader(armSized(tb)), "arm")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var cacheKey = Key{Cloud: "public", Location: "westeurope", Endpoint: "https://management.azure.com"}

// sameSet: every tag of want is in got with the same fields and prefixes.
func sameSet(t *testing.T, got, want *Set) {
	t.Helper()
	if got.Cloud != want.Cloud || got.ChangeNumber != want.ChangeNumber || !slices.Equal(got.Names(), want.Names()) {
		t.Fatalf("set %q/%q with %d tags, want %q/%q with %d", got.Cloud, got.ChangeNumber, got.Len(), want.Cloud, want.ChangeNumber, want.Len())
	}
	for _, n := range want.Names() {
		g, _ := got.Tag(n)
		w, _ := want.Tag(n)
		if g.Name != w.Name || g.Region != w.Region || g.SystemService != w.SystemService ||
			!slices.Equal(g.NetworkFeatures, w.NetworkFeatures) || !slices.Equal(g.Prefixes, w.Prefixes) {
			t.Fatalf("tag %s: %+v, want %+v", n, g, w)
		}
	}
}

// A stored list comes back whole, from a file of this user only, with
// nothing but the list in it.
func TestCacheRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := Cache{Dir: dir}
	want := armSizedSet(t)
	now := time.Now()
	if _, _, err := c.Load(cacheKey, now); err == nil {
		t.Fatal("a hit in an empty cache")
	}
	if err := c.Store(cacheKey, want, []string{"AzureConnectors"}, now); err != nil {
		t.Fatal(err)
	}
	got, absent, err := c.Load(cacheKey, now.Add(MaxAge-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, got, want)
	if !slices.Equal(absent, []string{"AzureConnectors"}) {
		t.Errorf("absent names %q", absent)
	}
	if p, _ := got.Regional("Storage", "West Europe"); p == nil || p.Prefixes[0].String() != "20.38.96.0/19" {
		t.Errorf("regional tag from the cache: %+v", p)
	}
	if !strings.HasPrefix(got.Source, "cache:"+dir) {
		t.Errorf("source %q", got.Source)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v", st.Mode().Perm())
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || strings.HasPrefix(files[0].Name(), ".tmp") {
		t.Fatalf("files %v, want the list alone", files)
	}
	info, _ := files[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v", info.Mode().Perm())
	}
	// Compact: well under the JSON's size.
	raw := len(armSized(t))
	if info.Size() > int64(raw/2) {
		t.Errorf("cache file %d bytes for %d of JSON", info.Size(), raw)
	}
}

// A cache file is used only when it is sound and of this run's key and
// day; anything else is ignored, and the next Store replaces it.
func TestCacheIgnoresAndReplacesWhatItCannotTrust(t *testing.T) {
	set := armSizedSet(t)
	now := time.Now()
	good := func(t *testing.T, c Cache) []byte {
		if err := c.Store(cacheKey, set, nil, now); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(c.file(cacheKey))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other := func(k Key) func(t *testing.T, c Cache) {
		return func(t *testing.T, c Cache) {
			// Another key's list, put where this key's goes.
			if err := c.Store(k, set, nil, now); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(c.file(k), c.file(cacheKey)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(f func([]byte) []byte) func(t *testing.T, c Cache) {
		return func(t *testing.T, c Cache) {
			b := f(good(t, c))
			if err := os.WriteFile(c.file(cacheKey), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := map[string]func(t *testing.T, c Cache){
		"truncated":       write(func(b []byte) []byte { return b[:len(b)*2/3] }),
		"truncated short": write(func(b []byte) []byte { return b[:10] }),
		"empty":           write(func([]byte) []byte { return nil }),
		"corrupt prefix":  write(func(b []byte) []byte { b[len(b)-100] ^= 0x40; return b }),
		"corrupt name":    write(func(b []byte) []byte { b[len(cacheMagic)+60] ^= 0x01; return b }),
		"foreign":         write(func([]byte) []byte { return armSized(t) }),
		"newer version":   write(func(b []byte) []byte { b[len(cacheMagic)] = cacheVersion + 1; return b }),
		"older version":   write(func(b []byte) []byte { b[len(cacheMagic)] = cacheVersion - 1; return b }),
		"grown":           write(func(b []byte) []byte { return append(b, 0) }),
		"corrupt index": write(func(b []byte) []byte {
			b[len(cacheMagic)+5+int(binary.LittleEndian.Uint32(b[len(cacheMagic)+1:]))/2] ^= 0x01
			return b
		}),
		"other cloud":    other(Key{Cloud: "usgov", Location: cacheKey.Location, Endpoint: cacheKey.Endpoint}),
		"other region":   other(Key{Cloud: cacheKey.Cloud, Location: "northeurope", Endpoint: cacheKey.Endpoint}),
		"other endpoint": other(Key{Cloud: cacheKey.Cloud, Location: cacheKey.Location, Endpoint: "https://arm.example"}),
		"a day old": func(t *testing.T, c Cache) {
			if err := c.Store(cacheKey, set, nil, now.Add(-MaxAge)); err != nil {
				t.Fatal(err)
			}
		},
		"from the future": func(t *testing.T, c Cache) {
			if err := c.Store(cacheKey, set, nil, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		},
		"writable by others": func(t *testing.T, c Cache) {
			good(t, c)
			if err := os.Chmod(c.file(cacheKey), 0o666); err != nil {
				t.Fatal(err)
			}
		},
		"a link": func(t *testing.T, c Cache) {
			good(t, c)
			elsewhere := filepath.Join(t.TempDir(), "list")
			if err := os.Rename(c.file(cacheKey), elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, c.file(cacheKey)); err != nil {
				t.Fatal(err)
			}
		},
		"a directory": func(t *testing.T, c Cache) {
			if err := os.MkdirAll(c.file(cacheKey), 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			c := Cache{Dir: filepath.Join(t.TempDir(), "cache")}
			spoil(t, c)
			// Every tag needed: a corrupt part is found too.
			if s, _, err := c.Load(cacheKey, now, set.Names()...); err == nil {
				t.Fatalf("trusted: %d tags from %s", s.Len(), s.Source)
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("a multi-line error: %q", err)
			}
			if name == "a directory" {
				os.Remove(c.file(cacheKey))
			}
			if err := c.Store(cacheKey, set, nil, now); err != nil {
				t.Fatalf("not replaced: %v", err)
			}
			got, _, err := c.Load(cacheKey, now)
			if err != nil {
				t.Fatalf("after replacing: %v", err)
			}
			sameSet(t, got, set)
		})
	}
}

// A cache directory that others can write, or that is not a directory,
// is not used.
func TestCacheDirectoryMustBeThisUsers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	if err := Usable(dir); err == nil {
		t.Error("a world-writable directory is usable")
	}
	if err := (Cache{Dir: dir}).Store(cacheKey, armSizedSet(t), nil, time.Now()); err == nil {
		t.Error("stored in a world-writable directory")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if err := Usable(file); err == nil {
		t.Error("a file is a usable cache directory")
	}
	if err := Usable(filepath.Join(t.TempDir(), "new", "dir")); err != nil {
		t.Errorf("a new directory: %v", err)
	}
}

// Anything in a cache file decodes to a sound set or an error, never a
// panic.
func FuzzDecodeCache(f *testing.F) {
	s := NewSet("t", "Public", "7", []*Tag{{Name: "ApiManagement", Prefixes: armSizedSet(f).Prefixes("ApiManagement")},
		{Name: "Storage.WestEurope", Region: "westeurope", NetworkFeatures: []string{"API"}}})
	if s == nil {
		f.Fatal("no set")
	}
	good := cacheBytes(f, s, cacheKey, []string{"Gone"}, time.Unix(1700000000, 0))
	f.Add(good)
	f.Add(good[:len(good)-5])
	f.Add([]byte(cacheMagic))
	const fixed = len(cacheMagic) + 1 + 4
	f.Fuzz(func(t *testing.T, b []byte) {
		// The checksums would refuse nearly every mutation; read the
		// file as if its head's and its parts' held, to reach the checks
		// behind them.
		b = append([]byte(nil), b...)
		if len(b) >= fixed+4 && bytes.HasPrefix(b, []byte(cacheMagic)) {
			if n := int(binary.LittleEndian.Uint32(b[fixed-4:])); n <= len(b)-fixed-4 {
				sum := crcOf(b[:fixed+n])
				copy(b[fixed+n:], sum[:])
				fixParts(b)
			}
		}
		got, _, _, err := readCache(bytes.NewReader(b), int64(len(b)), cacheKey)
		if err != nil {
			return
		}
		for _, n := range got.Names() {
			for _, p := range got.Prefixes(n) {
				if !p.IsValid() {
					t.Fatalf("tag %s: invalid prefix", n)
				}
			}
		}
	})
}

// BenchmarkCacheHit: a run's cost of the list when the cache has it (the
// lab's 2.8 MB list): read, checked, indexed, and the dozen tags a run
// asks for decoded. The budget is 5 ms.
func BenchmarkCacheHit(b *testing.B) {
	c := Cache{Dir: b.TempDir()}
	now := time.Now()
	if err := c.Store(cacheKey, armSizedSet(b), nil, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, _, err := c.Load(cacheKey, now)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []string{"ApiManagement", "AzureCloud", "Storage", "Sql", "AzureKeyVault", "AzureMonitor", "EventHub",
			"AzureTrafficManager", "AzureLoadBalancer", "Internet", "VirtualNetwork", "AzureActiveDirectory"} {
			s.Prefixes(n)
		}
		s.Regional("Storage", "westeurope")
	}
}

// BenchmarkParseARMSized: the same list fetched and decoded from JSON (a
// cache miss, without the network).
func BenchmarkParseARMSized(b *testing.B) {
	raw := armSized(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(raw), "arm"); err != nil {
			b.Fatal(err)
		}
	}
}

// cacheBytes is the cache file Store writes.
func cacheBytes(tb testing.TB, s *Set, k Key, absent []string, fetched time.Time) []byte {
	tb.Helper()
	head, err := encodeCacheHead(s, k, absent, fetched)
	if err != nil {
		tb.Fatal(err)
	}
	parts, err := s.allParts()
	if err != nil {
		tb.Fatal(err)
	}
	return append(head, parts...)
}

// fixParts rewrites, where it can, the checksums the index of the cache
// file b holds for its parts to the parts' own, and the head's checksum
// after them. The index ends the head's body, just before its checksum.
func fixParts(b []byte) {
	const fixed = len(cacheMagic) + 1 + 4
	s, _, _, err := readCache(bytes.NewReader(b), int64(len(b)), cacheKey)
	if err != nil {
		return
	}
	body := fixed + int(binary.LittleEndian.Uint32(b[fixed-4:]))
	index := body - len(s.index)
	for _, e := range s.entries {
		at := index + int(e.region.end)
		_, n := binary.Uvarint(b[at:])
		sum := crcOf(b[body+4+int(e.part.off) : body+4+int(e.part.end)])
		copy(b[at+n:], sum[:])
	}
	sum := crcOf(b[:body])
	copy(b[body:], sum[:])
}

func crcOf(b []byte) [4]byte {
	var out [4]byte
	binary.LittleEndian.PutUint32(out[:], crc32.Checksum(b, castagnoli()))
	return out
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r    *bytes.Reader
	read int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read += n
	return n, err
}

// A hit reads the file's head and the parts of the tags asked for, not
// the whole list: for a run's dozen tags, a small part of the file.
func TestCacheHitReadsWhatIsAsked(t *testing.T) {
	want := armSizedSet(t)
	b := cacheBytes(t, want, cacheKey, nil, time.Now())
	cr := &countingReader{r: bytes.NewReader(b)}
	s, _, _, err := readCache(cr, int64(len(b)), cacheKey)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"ApiManagement", "AzureCloud", "Storage.WestEurope", "LabFiller0007.Region07", "NoSuchTag"}
	for _, n := range names {
		g, _ := s.Tag(n)
		w, _ := want.Tag(n)
		if (g == nil) != (w == nil) || g != nil && !slices.Equal(g.Prefixes, w.Prefixes) {
			t.Errorf("tag %s: %+v, want %+v", n, g, w)
		}
	}
	if cr.read > len(b)/5 {
		t.Errorf("read %d bytes of %d for %d tags", cr.read, len(b), len(names))
	}
	t.Logf("read %d bytes of %d", cr.read, len(b))
	// Asked again: decoded once, not read again.
	before := cr.read
	s.Prefixes("AzureCloud")
	if cr.read != before {
		t.Error("a tag read twice")
	}
}

// A tag whose part in the cache file is corrupt is never given: Load
// refuses the file when the run needs the tag, and when it does not, the
// tag is absent and Check says why; the other tags are given. The next
// Store replaces the file.
func TestCacheCorruptPartIsNeverGiven(t *testing.T) {
	c := Cache{Dir: filepath.Join(t.TempDir(), "cache")}
	set := armSizedSet(t)
	now := time.Now()
	if err := c.Store(cacheKey, set, nil, now); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.file(cacheKey))
	if err != nil {
		t.Fatal(err)
	}
	s, _, _, err := readCache(bytes.NewReader(b), int64(len(b)), cacheKey)
	if err != nil {
		t.Fatal(err)
	}
	i, _ := s.find("ApiManagement")
	b[s.partsAt+int64(s.entries[i].part.end)-2] ^= 0x10 // in its last prefix's address
	if err := os.WriteFile(c.file(cacheKey), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Load(cacheKey, now, "AzureCloud", "ApiManagement"); err == nil || !strings.Contains(err.Error(), "tag ApiManagement: its checksum does not hold") {
		t.Errorf("a list whose needed tag is corrupt: %v", err)
	}
	got, _, err := c.Load(cacheKey, now, "AzureCloud")
	if err != nil {
		t.Fatal(err)
	}
	if tag, ok := got.Tag("ApiManagement"); ok {
		t.Errorf("a corrupt tag given: %+v", tag)
	}
	if got.Prefixes("ApiManagement") != nil {
		t.Error("a corrupt tag's prefixes given")
	}
	if err := got.Check([]string{"Storage.WestEurope", "ApiManagement"}); err == nil {
		t.Error("Check passes a corrupt tag")
	}
	if !slices.Equal(got.Prefixes("AzureCloud"), set.Prefixes("AzureCloud")) {
		t.Error("a sound tag beside the corrupt one is not given")
	}
	if err := (Cache{Dir: t.TempDir()}).Store(cacheKey, got, nil, now); err == nil {
		t.Error("a list with a corrupt part stored again")
	}
	if err := c.Store(cacheKey, set, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Load(cacheKey, now, set.Names()...); err != nil {
		t.Errorf("after replacing: %v", err)
	}
}

// A list loaded from the cache can be stored again (another key's file):
// its parts are read and checked from the file it came from.
func TestCacheStoreOfALoadedList(t *testing.T) {
	set := armSizedSet(t)
	now := time.Now()
	a, b := Cache{Dir: t.TempDir()}, Cache{Dir: t.TempDir()}
	if err := a.Store(cacheKey, set, []string{"Gone"}, now); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := a.Load(cacheKey, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Store(cacheKey, loaded, nil, now); err != nil {
		t.Fatal(err)
	}
	again, _, err := b.Load(cacheKey, now, set.Names()...)
	if err != nil {
		t.Fatal(err)
	}
	sameSet(t, again, set)
}
