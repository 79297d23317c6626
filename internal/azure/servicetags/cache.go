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
// the Set's compact form: a hit reads about 1 MB and costs a millisecond
// or two, where fetching and decoding the list took 30 ms or more.
//
// A cache file is never trusted: it is used only when it is a regular file
// owned by this user in a directory of this user that nobody else can
// write, its checksum holds, its key (cloud, region, endpoint) is the
// run's and it is younger than MaxAge. Anything else is ignored, and
// replaced by the next list fetched. It holds the list and its key, never
// a token or anything else of the session.
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
	cacheVersion = 1
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
// lacks; otherwise the error says why not.
func (c Cache) Load(k Key, now time.Time) (*Set, []string, error) {
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
	defer f.Close()
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
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	s, absent, fetched, err := decodeCache(data, k)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	if age := now.Sub(fetched); age >= MaxAge || age < -5*time.Minute {
		return nil, nil, fmt.Errorf("%s: fetched %s, not within the last %s", path, fetched.UTC().Format(time.RFC3339), MaxAge)
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
	data, err := encodeCache(s, k, absent, now)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-servicetags-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(data); err != nil {
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

// The cache file: cacheMagic, the version byte, then (strings as a uvarint
// length and the bytes) the key's cloud, location and endpoint, the fetch
// time (uvarint Unix seconds), the absent names (a count and the strings),
// the set's list (encodeList), and the CRC-32C (Castagnoli) of everything
// before it, 4 bytes little-endian.
func encodeCache(s *Set, k Key, absent []string, fetched time.Time) ([]byte, error) {
	if len(absent) > maxAbsent {
		absent = absent[:maxAbsent]
	}
	b := make([]byte, 0, len(s.list)+len(k.Cloud)+len(k.Location)+len(k.Endpoint)+64)
	b = append(b, cacheMagic...)
	b = append(b, cacheVersion)
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
	b = append(b, s.list...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli())), nil
}

// decodeCache reads a cache file of k, checking everything: its magic and
// version, its checksum, that the key is k, and the list whole
// (decodeList). The set keeps data.
func decodeCache(data []byte, k Key) (*Set, []string, time.Time, error) {
	var zero time.Time
	if len(data) < len(cacheMagic)+1+4 || !bytes.HasPrefix(data, []byte(cacheMagic)) {
		return nil, nil, zero, errors.New("not a cached service tag list")
	}
	if v := data[len(cacheMagic)]; v != cacheVersion {
		return nil, nil, zero, fmt.Errorf("a cached list of version %d, not %d", v, cacheVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli()) != sum {
		return nil, nil, zero, errors.New("its checksum does not hold (truncated or corrupt)")
	}
	r := listReader{b: body[len(cacheMagic)+1:]}
	key := Key{Cloud: string(r.str()), Location: string(r.str()), Endpoint: string(r.str())}
	secs := r.uvarint()
	n := r.uvarint()
	if r.err == nil && n > maxAbsent {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %d absent names", n)
	}
	var absent []string
	for range n {
		absent = append(absent, string(r.str()))
	}
	if r.err != nil {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %v", r.err)
	}
	if key != k {
		return nil, nil, zero, fmt.Errorf("it holds the list of cloud %q, region %q from %q, not this run's", key.Cloud, key.Location, key.Endpoint)
	}
	s, err := decodeList(r.b[r.at:])
	if err != nil {
		return nil, nil, zero, fmt.Errorf("not a sound cached list: %v", err)
	}
	return s, absent, time.Unix(int64(min(secs, 1<<62)), 0), nil
}
