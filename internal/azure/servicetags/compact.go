package servicetags

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Set is a loaded collection of service tags, held in one encoded list
// (the body of a cache file, see encodeList): about 1 MB for the public
// cloud's 3,000 tags and 100,000 prefixes, where a string and a
// netip.Prefix each took 4 MB. A tag's fields and prefixes are decoded the
// first time it is asked for; a run asks for a dozen.
type Set struct {
	// Source says where the tags came from: "file:<path>", "arm" or
	// "cache:<path>".
	Source string
	// Cloud is the file's or API's cloud name ("Public", "AzureGovernment").
	Cloud        string
	ChangeNumber string

	list    []byte  // encodeList's output
	entries []entry // sorted by name, case folded, each name once

	mu    sync.Mutex
	tags  map[int]*Tag    // decoded, by entries index
	asked map[string]bool // every name Tag was asked for
}

// entry locates one tag's parts in the list.
type entry struct {
	name, region, service, features, prefixes span
}

type span struct{ off, end uint32 }

func (s *Set) bytes(sp span) []byte { return s.list[sp.off:sp.end] }

// Len returns the number of tags.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Tag returns the named tag, matching the name case-insensitively. Its
// Prefixes are shared: callers must not modify them.
func (s *Set) Tag(name string) (*Tag, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	if s.asked == nil {
		s.asked = map[string]bool{}
	}
	s.asked[name] = true
	s.mu.Unlock()
	i, ok := s.find(name)
	if !ok {
		return nil, false
	}
	return s.tag(i), true
}

// Has reports whether the set has the named tag (case-insensitive),
// without decoding it or counting it as asked.
func (s *Set) Has(name string) bool {
	if s == nil {
		return false
	}
	_, ok := s.find(name)
	return ok
}

func (s *Set) find(name string) (int, bool) {
	return slices.BinarySearchFunc(s.entries, name, func(e entry, name string) int {
		return foldCompare(s.bytes(e.name), name)
	})
}

// Asked returns every name the set was asked for, found or not, sorted:
// what a run needed of it.
func (s *Set) Asked() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.asked))
	for n := range s.asked {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// tag decodes entries[i] once. The list was checked whole when the set
// was built or loaded, so nothing here can fail.
func (s *Set) tag(i int) *Tag {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tags[i]; t != nil {
		return t
	}
	e := s.entries[i]
	t := &Tag{Name: string(s.bytes(e.name)), Region: string(s.bytes(e.region)), SystemService: string(s.bytes(e.service))}
	r := listReader{b: s.bytes(e.features)}
	for n := r.uvarint(); n > 0; n-- {
		t.NetworkFeatures = append(t.NetworkFeatures, string(r.bytes()))
	}
	b := s.bytes(e.prefixes)
	t.Prefixes = make([]netip.Prefix, 0, len(b)/5)
	for len(b) > 0 {
		p, n := decodePrefix(b)
		t.Prefixes = append(t.Prefixes, p)
		b = b[n:]
	}
	if s.tags == nil {
		s.tags = map[int]*Tag{}
	}
	s.tags[i] = t
	return t
}

// Prefixes returns the address prefixes of the named tag ("AzureCloud",
// "Storage.WestEurope"), or nil when the set has no such tag. The slice is
// shared: callers must not modify it.
func (s *Set) Prefixes(name string) []netip.Prefix {
	t, ok := s.Tag(name)
	if !ok {
		return nil
	}
	return t.Prefixes
}

// Regional returns the tag "<base>.<Region>" for a region given the way IMDS
// and ARM spell it ("westeurope"), falling back to the tag whose region
// property matches. ok is false when the set has no regional variant.
func (s *Set) Regional(base, region string) (*Tag, bool) {
	if s == nil || region == "" {
		return nil, false
	}
	region = strings.ToLower(strings.ReplaceAll(region, " ", ""))
	if t, ok := s.Tag(base + "." + region); ok {
		return t, true
	}
	lb := base + "."
	for i, e := range s.entries {
		if n := s.bytes(e.name); len(n) > len(lb) && foldCompare(n[:len(lb)], lb) == 0 && string(s.bytes(e.region)) == region {
			return s.tag(i), true
		}
	}
	return nil, false
}

// Names returns every tag name, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, string(s.bytes(e.name)))
	}
	slices.Sort(out)
	return out
}

// NewSet builds a set from tags (tests; Parse builds its own). It is nil
// when the tags cannot make a list (an unnamed tag, a name over 1,024
// bytes, more than 65,536 tags).
func NewSet(source, cloud, changeNumber string, tags []*Tag) *Set {
	var b builder
	for _, t := range tags {
		b.add(t.Name, t.Region, t.SystemService, t.NetworkFeatures, t.Prefixes)
	}
	s, err := b.set(source, cloud, changeNumber)
	if err != nil {
		return nil
	}
	return s
}

// foldCompare compares a and b with ASCII letters folded to lower case
// (tag names are ASCII; other bytes compare as they are).
func foldCompare(a []byte, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := lower(a[i]), lower(b[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// builder gathers tags, then encodes them into a Set's list.
type builder struct {
	tags []builtTag
	data []byte // every tag's encoded prefixes
}

type builtTag struct {
	name, region, service string
	features              []string
	off, end              int // in data
}

// add appends a tag; invalid prefixes (none come from Parse) are left out.
func (b *builder) add(name, region, service string, features []string, ps []netip.Prefix) {
	t := builtTag{name: name, region: region, service: service, features: features, off: len(b.data)}
	for _, p := range ps {
		if p.IsValid() {
			b.data = appendPrefix(b.data, p)
		}
	}
	t.end = len(b.data)
	b.tags = append(b.tags, t)
}

// set sorts the tags by name (a later tag of the same name replaces an
// earlier one, as it did in a map) and encodes them.
func (b *builder) set(source, cloud, changeNumber string) (*Set, error) {
	slices.SortStableFunc(b.tags, func(x, y builtTag) int { return foldCompare([]byte(x.name), y.name) })
	tags := b.tags[:0]
	for i, t := range b.tags {
		if i+1 < len(b.tags) && foldCompare([]byte(t.name), b.tags[i+1].name) == 0 {
			continue
		}
		tags = append(tags, t)
	}
	// The list is checked as a cache file is: a name longer than
	// maxListStr, more than maxListTags tags, are refused here too.
	s, err := decodeList(encodeList(cloud, changeNumber, tags, b.data))
	if err != nil {
		return nil, err
	}
	s.Source = source
	return s, nil
}

// The list: (strings as a uvarint length and the bytes) the cloud and the
// change number, the number of tags and for each, sorted by name, its
// name, region, system service, its features (a count and the strings)
// and the length of its encoded prefixes; then every tag's prefixes, one
// tag after the other, each prefix as appendPrefix writes it.
func encodeList(cloud, change string, tags []builtTag, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(tags)*64+64)
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str(cloud)
	str(change)
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, t := range tags {
		str(t.name)
		str(t.region)
		str(t.service)
		b = binary.AppendUvarint(b, uint64(len(t.features)))
		for _, f := range t.features {
			str(f)
		}
		b = binary.AppendUvarint(b, uint64(t.end-t.off))
	}
	for _, t := range tags {
		b = append(b, data[t.off:t.end]...)
	}
	return b
}

// Bounds of a list, whatever wrote it.
const (
	maxListTags     = 1 << 16
	maxListStr      = 1024
	maxListFeatures = 64
)

// decodeList checks a list whole (every length within it, every string
// short UTF-8, names non-empty and in strictly increasing folded order,
// every prefix valid, nothing after the prefixes) and indexes it; the set
// keeps list.
func decodeList(list []byte) (*Set, error) {
	r := listReader{b: list}
	cloud, change := string(r.str()), string(r.str())
	n := r.uvarint()
	if r.err == nil && (n == 0 || n > maxListTags) {
		return nil, fmt.Errorf("%d tags", n)
	}
	s := &Set{Cloud: cloud, ChangeNumber: change, list: list, entries: make([]entry, 0, n)}
	lens := make([]int, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		var e entry
		e.name = r.span()
		e.region = r.span()
		e.service = r.span()
		fo := r.pos()
		nf := r.uvarint()
		if nf > maxListFeatures {
			return nil, fmt.Errorf("tag %d: %d features", i, nf)
		}
		for range nf {
			r.span()
		}
		e.features = span{fo, r.pos()}
		l := r.uvarint()
		if r.err != nil {
			break
		}
		if e.name.off == e.name.end {
			return nil, fmt.Errorf("tag %d has no name", i)
		}
		if len(s.entries) > 0 && foldCompare(s.bytes(s.entries[len(s.entries)-1].name), string(s.bytes(e.name))) >= 0 {
			return nil, fmt.Errorf("tag %d is out of order", i)
		}
		if l > uint64(len(list)) {
			return nil, fmt.Errorf("tag %d: prefixes past the end", i)
		}
		lens = append(lens, int(l))
		s.entries = append(s.entries, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	off := r.pos()
	for i, l := range lens {
		end := uint64(off) + uint64(l)
		if end > uint64(len(list)) {
			return nil, errors.New("prefixes past the end")
		}
		if !validPrefixes(list[off:end]) {
			return nil, fmt.Errorf("tag %s has an invalid prefix", s.bytes(s.entries[i].name))
		}
		s.entries[i].prefixes = span{off, uint32(end)}
		off = uint32(end)
	}
	if int(off) != len(list) {
		return nil, errors.New("bytes after the prefixes")
	}
	return s, nil
}

// listReader reads uvarints and strings, keeping the first error.
type listReader struct {
	b   []byte
	at  int
	err error
}

func (r *listReader) pos() uint32 { return uint32(r.at) }

func (r *listReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.at:])
	if n <= 0 {
		r.err = errors.New("a number past the end")
		return 0
	}
	r.at += n
	return v
}

// span reads a string and returns where it is.
func (r *listReader) span() span {
	n := r.uvarint()
	if r.err != nil {
		return span{}
	}
	if n > maxListStr || n > uint64(len(r.b)-r.at) {
		r.err = errors.New("a string too long or past the end")
		return span{}
	}
	sp := span{uint32(r.at), uint32(r.at + int(n))}
	r.at += int(n)
	if !utf8.Valid(r.b[sp.off:sp.end]) {
		r.err = errors.New("a string that is not UTF-8")
		return span{}
	}
	return sp
}

func (r *listReader) bytes() []byte {
	sp := r.span()
	return r.b[sp.off:sp.end]
}

func (r *listReader) str() []byte { return r.bytes() }

// appendPrefix encodes p in one byte of family and length (0–32: IPv4 and
// its length; 33–161: IPv6 and 33 plus its length) and the address's 4 or
// 16 bytes.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	a := p.Addr()
	if a.Is4() {
		v := a.As4()
		return append(append(b, byte(p.Bits())), v[:]...)
	}
	v := a.As16()
	return append(append(b, byte(33+p.Bits())), v[:]...)
}

// decodePrefix reads one prefix from b; n is 0 when b does not start with
// a whole, valid one.
func decodePrefix(b []byte) (p netip.Prefix, n int) {
	if len(b) == 0 {
		return netip.Prefix{}, 0
	}
	switch k := int(b[0]); {
	case k <= 32 && len(b) >= 5:
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[1:5])), k), 5
	case k >= 33 && k <= 33+128 && len(b) >= 17:
		return netip.PrefixFrom(netip.AddrFrom16([16]byte(b[1:17])), k-33), 17
	}
	return netip.Prefix{}, 0
}

// validPrefixes: b holds whole, valid prefixes only.
func validPrefixes(b []byte) bool {
	for len(b) > 0 {
		switch k := b[0]; {
		case k <= 32 && len(b) >= 5:
			b = b[5:]
		case k >= 33 && k <= 33+128 && len(b) >= 17:
			b = b[17:]
		default:
			return false
		}
	}
	return true
}
