package servicetags

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Set is a loaded collection of service tags, held encoded (see
// encodeList): an index of the tags' names and regions, and each tag's
// part (its system service, features and prefixes), about 1 MB in all for
// the public cloud's 3,000 tags and 100,000 prefixes, where a string and a
// netip.Prefix each took 4 MB. A tag is decoded the first time it is asked
// for; a run asks for a dozen. A set read from the cache holds the index
// only, and reads a tag's part from the cache file when the tag is first
// asked for, checked by its own checksum.
type Set struct {
	// Source says where the tags came from: "file:<path>", "arm" or
	// "cache:<path>".
	Source string
	// Cloud is the file's or API's cloud name ("Public", "AzureGovernment").
	Cloud        string
	ChangeNumber string

	index   []byte  // encodeList's index
	entries []entry // sorted by name, case folded, each name once

	// The parts: in memory (parts), or in a cache file (file, from
	// partsAt), read when first asked for.
	parts   []byte
	file    io.ReaderAt
	partsAt int64

	mu    sync.Mutex
	tags  map[int]*Tag    // decoded, by entries index
	asked map[string]bool // every name Tag was asked for
}

// entry locates one tag: its name and region in the index, its part in
// the parts, and the part's CRC-32C.
type entry struct {
	name, region, part span
	sum                uint32
}

type span struct{ off, end uint32 }

func (s *Set) bytes(sp span) []byte { return s.index[sp.off:sp.end] }

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
	t, err := s.tag(i)
	if err != nil {
		// A part that a cache file no longer holds soundly is not
		// trusted: the tag is as good as absent. Check finds it first.
		return nil, false
	}
	return t, true
}

// Check decodes the named tags the set has, reading their parts when the
// set was read from the cache, and returns the first that is not sound:
// a run checks what it needs before it trusts a cached list.
func (s *Set) Check(names []string) error {
	if s == nil {
		return nil
	}
	for _, n := range names {
		if i, ok := s.find(n); ok {
			if _, err := s.tag(i); err != nil {
				return err
			}
		}
	}
	return nil
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

// tag decodes entries[i] once, reading its part first when it is in a
// cache file: a part that cannot be read, whose checksum does not hold or
// that is not sound is an error, every time it is asked for.
func (s *Set) tag(i int) (*Tag, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tags[i]; t != nil {
		return t, nil
	}
	e := s.entries[i]
	b, err := s.part(e)
	if err == nil {
		var t *Tag
		if t, err = decodePart(b); err == nil {
			t.Name, t.Region = string(s.bytes(e.name)), string(s.bytes(e.region))
			if s.tags == nil {
				s.tags = map[int]*Tag{}
			}
			s.tags[i] = t
			return t, nil
		}
	}
	return nil, fmt.Errorf("tag %s: %v", shown(string(s.bytes(e.name))), err)
}

// part returns e's part: in memory, or read from the cache file and
// checked against its checksum.
func (s *Set) part(e entry) ([]byte, error) {
	if s.file == nil {
		return s.parts[e.part.off:e.part.end], nil
	}
	b := make([]byte, e.part.end-e.part.off)
	if _, err := s.file.ReadAt(b, s.partsAt+int64(e.part.off)); err != nil {
		return nil, fmt.Errorf("cannot read it: %v", err)
	}
	if crc32.Checksum(b, castagnoli()) != e.sum {
		return nil, errors.New("its checksum does not hold (corrupt)")
	}
	return b, nil
}

// allParts returns every tag's part, one after the other: what Store
// writes. A set read from the cache reads and checks them all.
func (s *Set) allParts() ([]byte, error) {
	if s.file == nil {
		return s.parts, nil
	}
	var n uint32
	if len(s.entries) > 0 {
		n = s.entries[len(s.entries)-1].part.end
	}
	b := make([]byte, n)
	if _, err := s.file.ReadAt(b, s.partsAt); err != nil {
		return nil, err
	}
	for _, e := range s.entries {
		if crc32.Checksum(b[e.part.off:e.part.end], castagnoli()) != e.sum {
			return nil, fmt.Errorf("tag %s: its checksum does not hold (corrupt)", shown(string(s.bytes(e.name))))
		}
	}
	return b, nil
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
			if t, err := s.tag(i); err == nil {
				return t, true
			}
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
	index, parts := encodeList(cloud, changeNumber, tags, b.data)
	s, err := decodeIndex(index, int64(len(parts)))
	if err != nil {
		return nil, err
	}
	for _, e := range s.entries {
		if err := checkPart(parts[e.part.off:e.part.end]); err != nil {
			return nil, fmt.Errorf("tag %s: %v", shown(string(s.bytes(e.name))), err)
		}
	}
	s.parts = parts
	s.Source = source
	return s, nil
}

// The list is its index and its parts. The index: (strings as a uvarint
// length and the bytes) the cloud and the change number, the number of
// tags and for each, sorted by name, its name, its region, the length of
// its part and the part's CRC-32C (Castagnoli), 4 bytes little-endian.
// The parts, one tag's after the other in the index's order: its system
// service, its features (a count and the strings), then its prefixes,
// each as appendPrefix writes it, to the part's end.
func encodeList(cloud, change string, tags []builtTag, data []byte) (index, parts []byte) {
	index = make([]byte, 0, len(tags)*48+64)
	parts = make([]byte, 0, len(data)+len(tags)*32)
	str := func(b []byte, v string) []byte {
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	}
	index = str(index, cloud)
	index = str(index, change)
	index = binary.AppendUvarint(index, uint64(len(tags)))
	for _, t := range tags {
		off := len(parts)
		parts = str(parts, t.service)
		parts = binary.AppendUvarint(parts, uint64(len(t.features)))
		for _, f := range t.features {
			parts = str(parts, f)
		}
		parts = append(parts, data[t.off:t.end]...)
		index = str(index, t.name)
		index = str(index, t.region)
		index = binary.AppendUvarint(index, uint64(len(parts)-off))
		index = binary.LittleEndian.AppendUint32(index, crc32.Checksum(parts[off:], castagnoli()))
	}
	return index, parts
}

// Bounds of a list, whatever wrote it.
const (
	maxListTags     = 1 << 16
	maxListStr      = 1024
	maxListFeatures = 64
)

// decodeIndex checks an index whole (every length within it, every string
// short UTF-8, names non-empty and in strictly increasing folded order,
// its parts exactly partsLen bytes in all) and makes a set of it, without
// its parts; the set keeps index.
func decodeIndex(index []byte, partsLen int64) (*Set, error) {
	r := listReader{b: index}
	cloud, change := string(r.str()), string(r.str())
	n := r.uvarint()
	if r.err == nil && (n == 0 || n > maxListTags) {
		return nil, fmt.Errorf("%d tags", n)
	}
	s := &Set{Cloud: cloud, ChangeNumber: change, index: index, entries: make([]entry, 0, n)}
	var off uint64
	for i := uint64(0); i < n && r.err == nil; i++ {
		var e entry
		e.name = r.span()
		e.region = r.span()
		l := r.uvarint()
		e.sum = r.uint32()
		if r.err != nil {
			break
		}
		if e.name.off == e.name.end {
			return nil, fmt.Errorf("tag %d has no name", i)
		}
		if len(s.entries) > 0 && foldCompare(s.bytes(s.entries[len(s.entries)-1].name), string(s.bytes(e.name))) >= 0 {
			return nil, fmt.Errorf("tag %d is out of order", i)
		}
		if l > uint64(partsLen)-off {
			return nil, fmt.Errorf("tag %d: its part past the end", i)
		}
		e.part = span{uint32(off), uint32(off + l)}
		off += l
		s.entries = append(s.entries, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.at != len(index) {
		return nil, errors.New("bytes after the index")
	}
	if off != uint64(partsLen) {
		return nil, fmt.Errorf("the parts are %d bytes, not the %d of the index (truncated?)", partsLen, off)
	}
	return s, nil
}

// checkPart checks one tag's part (its system service and features short
// UTF-8 strings, every prefix whole and valid), without decoding it.
func checkPart(b []byte) error {
	r := listReader{b: b}
	r.span()
	nf := r.uvarint()
	if nf > maxListFeatures {
		return fmt.Errorf("%d features", nf)
	}
	for range nf {
		r.span()
	}
	if r.err != nil {
		return r.err
	}
	if !validPrefixes(b[r.at:]) {
		return errors.New("an invalid prefix")
	}
	return nil
}

// decodePart decodes a sound part (checkPart) into a tag without name or
// region.
func decodePart(b []byte) (*Tag, error) {
	if err := checkPart(b); err != nil {
		return nil, err
	}
	r := listReader{b: b}
	t := &Tag{SystemService: string(r.str())}
	for n := r.uvarint(); n > 0; n-- {
		t.NetworkFeatures = append(t.NetworkFeatures, string(r.str()))
	}
	b = b[r.at:]
	t.Prefixes = make([]netip.Prefix, 0, len(b)/5)
	for len(b) > 0 {
		p, n := decodePrefix(b)
		t.Prefixes = append(t.Prefixes, p)
		b = b[n:]
	}
	return t, nil
}

// listReader reads uvarints and strings, keeping the first error.
type listReader struct {
	b   []byte
	at  int
	err error
}

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

func (r *listReader) uint32() uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.at < 4 {
		r.err = errors.New("a number past the end")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.at:])
	r.at += 4
	return v
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
