package servicetags

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The service tag list is about 3–4 MB of JSON that Resource Manager sends
// whole on every request and that changes about once a week (its
// changeNumber). A Cache keeps the parsed list between runs in a
// directory, one file per cloud, region and Resource Manager endpoint, in
// the Set's compact form: a hit reads the file's head (its key and the
// list's index of names, about a tenth of it) and then only the parts of
// the dozen tags a run asks for, each by itself, where fetching and
// decoding the list took 30 ms or more.
//
// A cache file is never trusted: it is used only when it is a regular file
// owned by this user in a directory of this user that nobody else can
// write, its head's checksum holds, its key (cloud, region, endpoint) is
// the run's, its size is what its head says and it is younger than
// MaxAge; a tag's part is used only when its own checksum holds. Anything
// else is ignored, and replaced by the next list fetched. It holds the
// list and its key, never a token or anything else of the session.
type Cache struct {
	// Dir is the cache directory; the zero Cache caches nothing.
	Dir string
}

// Key names one cached list.
type Key struct {
	// Cloud is the run's cloud (public, usgov, china).
	Cloud string
	// Location is the region the list was asked for.
	Location string
	// Endpoint is the Resource Manager endpoint that answered.
	Endpoint string
}

// MaxAge is how long a cached list is used before it is fetched again.
const MaxAge = 24 * time.Hour

const (
	cacheMagic   = "apimprobe service tags\n"
	cacheVersion = 2
	maxCacheFile = MaxFileSize
	// maxAbsent bounds the names a cache file says its list lacks.
	maxAbsent = 256
)

// castagnoli is the checksum's table, made on first use: making it at start
// built the SSE4.2 tables in every process, a run without the cache too.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// file is the cache file of k: its name says what it holds, and the file
// holds its key again, which decides.
func (c Cache) file(k Key) string {
	h := fnv.New32a()
	io.WriteString(h, k.Endpoint)
	return filepath.Join(c.Dir, fmt.Sprintf("servicetags-%s-%s-%08x.bin", safeName(k.Cloud), safeName(k.Location), h.Sum32()))
}

// safeName keeps lower-case letters and digits, at most 40.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') && b.Len() < 40 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// Load returns the cached list for k when it is there, sound, of k and
// younger than MaxAge at now, with the names Store was told the list
// lacks; otherwise the error says why not. The tags of need that the list
// has are read and checked (Set.Check) before it is returned; any other
// tag is read when it is first asked for, and is absent if its part is
// not sound. The set keeps the file open to read them.
func (c Cache) Load(k Key, now time.Time, need ...string) (_ *Set, _ []string, err error) {
	if c.Dir == "" {
		return nil, nil, errors.New("no cache directory")
	}
	if err := ownDir(c.Dir); err != nil {
		return nil, nil, err
	}
	path := c.file(k)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := ownFile(st); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	if st.Size() > maxCacheFile {
		return nil, nil, fmt.Errorf("%s: %d bytes, more than a cached list can be", path, st.Size())
	}
	s, absent, fetched, err := readCache(f, st.Size(), k)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	if age := now.Sub(fetched); age >= MaxAge || age < -5*time.Minute {
		return nil, nil, fmt.Errorf("%s: fetched %s, not within the last %s", path, fetched.UTC().Format(time.RFC3339), MaxAge)
	}
	if err := s.Check(need); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	s.Source = "cache:" + path
	return s, absent, nil
}

// Store writes s as the list of k fetched at now, with the names a run
// needed and the list lacks (so that a later run asks for the list again
// only for a name that was not already missing), atomically (a temporary
// file renamed over the old one), readable by this user only. The
// directory is made (0700) when missing.
func (c Cache) Store(k Key, s *Set, absent []string, now time.Time) error {
	if c.Dir == "" || s == nil {
		return errors.New("nothing to cache")
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if err := ownDir(c.Dir); err != nil {
		return err
	}
	head, err := encodeCacheHead(s, k, absent, now)
	if err != nil {
		return err
	}
	parts, err := s.allParts()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-servicetags-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(head); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(parts); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.file(k))
}

// Usable reports whether dir can hold the cache: it exists or can be made
// (0700), is a directory of this user that nobody else can write, and
// this user can write in it.
func Usable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := ownDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-servicetags-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// ownDir: dir is a directory (not a link to one) of this user that no
// other user can write.
func ownDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return owned(dir, st)
}

// ownFile: a regular file of this user that no other user can write.
func ownFile(st fs.FileInfo) error {
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return owned("the file", st)
}

func owned(what string, st fs.FileInfo) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to user %d, not to this user (%d)", what, sys.Uid, os.Geteuid())
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s can be written by other users (mode %04o)", what, st.Mode().Perm())
	}
	return nil
}

// The cache file: its head, cacheMagic, the version byte, the length of
// the head's body (4 bytes little-endian), the body: (strings as a uvarint
// length and the bytes) the key's cloud, location and endpoint, the fetch
// time (uvarint Unix seconds), the absent names (a count and the strings)
// and the list's index (encodeList); the CRC-32C (Castagnoli) of the head
// up to there, 4 bytes little-endian; then the list's parts, each checked
// by the CRC-32C the index holds for it.
func encodeCacheHead(s *Set, k Key, absent []string, fetched time.Time) ([]byte, error) {
	if len(absent) > maxAbsent {
		absent = absent[:maxAbsent]
	}
	b := make([]byte, 0, len(s.index)+len(k.Cloud)+len(k.Location)+len(k.Endpoint)+64)
	b = append(b, cacheMagic...)
	b = append(b, cacheVersion, 0, 0, 0, 0)
	body := len(b)
	str := func(v string) error {
		if len(v) > maxListStr {
			return errors.New("a name too long to cache")
		}
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
		return nil
	}
	for _, v := range []string{k.Cloud, k.Location, k.Endpoint} {
		if err := str(v); err != nil {
			return nil, err
		}
	}
	b = binary.AppendUvarint(b, uint64(max(fetched.Unix(), 0)))
	b = binary.AppendUvarint(b, uint64(len(absent)))
	for _, v := range absent {
		if err := str(v); err != nil {
			return nil, err
		}
	}
	b = append(b, s.index...)
	binary.LittleEndian.PutUint32(b[body-4:], uint32(len(b)-body))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli())), nil
}

// readCache reads the head of a cache file of size bytes from r,
// checking everything in it: its magic and version, its checksum, that
// the key is k, the index whole (decodeIndex), and that the file's parts
// are as long as the index says. The set reads its parts from r.
func readCache(r io.ReaderAt, size int64, k Key) (*Set, []string, time.Time, error) {
	var zero time.Time
	const fixed = int64(len(cacheMagic) + 1 + 4)
	notCache := errors.New("not a cached service tag list")
	if size < fixed+4 {
		return nil, nil, zero, notCache
	}
	pre := make([]byte, fixed)
	if _, err := r.ReadAt(pre, 0); err != nil {
		return nil, nil, zero, err
	}
	if !bytes.HasPrefix(pre, []byte(cacheMagic)) {
		return nil, nil, zero, notCache
	}
	if v := pre[len(cacheMagic)]; v != cacheVersion {
		return nil, nil, zero, fmt.Errorf("a cached list of version %d, not %d", v, cacheVersion)
	}
	n := int64(binary.LittleEndian.Uint32(pre[len(cacheMagic)+1:]))
	if n > size-fixed-4 {
		return nil, nil, zero, errors.New("its head is longer than the file (truncated)")
	}
	head := make([]byte, fixed+n+4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, nil, zero, err
	}
	body, sum := head[:fixed+n], binary.LittleEndian.Uint32(head[fixed+n:])
	if !bytes.Equal(body[:fixed], pre) || crc32.Checksum(body, castagnoli()) != sum {
		return nil, nil, zero, errors.New("its checksum does not hold (truncated or corrupt)")
	}
	lr := listReader{b: body[fixed:]}
	key := Key{Cloud: string(lr.str()), Location: string(lr.str()), Endpoint: string(lr.str())}
	secs := lr.uvarint()
	na := lr.uvarint()
	if lr.err == nil && na > maxAbsent {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %d absent names", na)
	}
	var absent []string
	for range na {
		absent = append(absent, string(lr.str()))
	}
	if lr.err != nil {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %v", lr.err)
	}
	if key != k {
		return nil, nil, zero, fmt.Errorf("it holds the list of cloud %q, region %q from %q, not this run's", key.Cloud, key.Location, key.Endpoint)
	}
	partsAt := int64(len(head))
	s, err := decodeIndex(lr.b[lr.at:], size-partsAt)
	if err != nil {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %v", err)
	}
	s.file, s.partsAt = r, partsAt
	return s, absent, time.Unix(int64(min(secs, 1<<62)), 0), nil
}
