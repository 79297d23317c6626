package discover

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// gzipMember is one gzip member of n zero bytes; members concatenated are
// one gzip stream (RFC 1952), so a body of k members inflates to k*n bytes
// from about k*n/1000 on the wire.
func gzipMember(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

const mib = 1 << 20

// bombMembers is how many 1 MiB members the gzip bomb has.
const bombMembers = 2048

// A VM answer of 256 MiB, an effective route table whose gzip body of 2 MiB
// inflates to 2 GiB, and effective NSGs whose gzip body is 32 MiB of empty
// members (nothing inflated): each read stops at the bound, as it reads,
// and the run allocates a small multiple of the bound, not the body.
func TestARMBodiesBoundedWhileRead(t *testing.T) {
	imds, _ := fakeIMDS(t)
	member := gzipMember(t, mib)
	zeros := bytes.Repeat([]byte("A"), mib)

	// The VM read: 256 MiB of JSON string.
	armVM := newARM(t, map[string]http.HandlerFunc{
		"GET jumpbox": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"properties":{"x":"`))
			testtool.WriteRepeated(w, zeros, 256)
		},
	})
	var s *snapshot.Snapshot
	n := testtool.Allocated(func() {
		s = mustDiscover(t, context.Background(), baseOpts(imds.URL, armVM)).Wait(context.Background())
	})
	r := s.Read(snapshot.ReadVM)
	t.Logf("256 MiB VM answer: %d MiB allocated; %s: %s", n/mib, r.Status, r.Message)
	if r.Status != snapshot.ReadMalformed || !strings.Contains(r.Message, "larger than 16 MiB on the wire") {
		t.Errorf("vm read %+v", r)
	}
	if n > 6*arm.MaxBody {
		t.Errorf("the run allocated %d MiB for a 256 MiB answer", n/mib)
	}

	// The effective views: gzip bombs behind the long-running reads.
	empty := bytes.Repeat(gzipMember(t, 0), mib/len(gzipMember(t, 0)))
	armLRO := newARM(t, map[string]http.HandlerFunc{
		"GET nsgs-1": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			testtool.WriteRepeated(w, empty, 32)
		},
		"GET routes-1": func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				t.Errorf("gzip not asked for: %q", r.Header.Get("Accept-Encoding"))
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			testtool.WriteRepeated(w, member, bombMembers)
		},
	})
	n = testtool.Allocated(func() {
		s = mustDiscover(t, context.Background(), baseOpts(imds.URL, armLRO)).Wait(context.Background())
	})
	r = s.Read(snapshot.ReadEffectiveRoutes)
	t.Logf("gzip of %d KiB × %d (%d MiB inflated): %d MiB allocated; %s: %s", len(member)>>10, bombMembers, bombMembers, n/mib, r.Status, r.Message)
	if r.Status != snapshot.ReadMalformed || !strings.Contains(r.Message, "larger than 16 MiB inflated") {
		t.Errorf("effective-routes read %+v", r)
	}
	if s.Routes != nil {
		t.Errorf("routes from an answer cut short: %v", s.Routes)
	}
	if n > 6*arm.MaxBody {
		t.Errorf("the run allocated %d MiB for a body inflating to %d MiB", n/mib, bombMembers)
	}
	r = s.Read(snapshot.ReadEffectiveNSGs)
	t.Logf("32 MiB of empty gzip members: %s: %s", r.Status, r.Message)
	if r.Status != snapshot.ReadMalformed || !strings.Contains(r.Message, "larger than 16 MiB on the wire") {
		t.Errorf("effective-nsgs read %+v", r)
	}
	// The other reads went on.
	if !s.Read(snapshot.ReadNIC).OK() || !s.Read(snapshot.ReadSubnet).OK() {
		t.Errorf("other reads: nic %+v subnet %+v", s.Read(snapshot.ReadNIC), s.Read(snapshot.ReadSubnet))
	}
}

// A gzip answer of a normal size is inflated and read as usual; one that
// is not gzip although it says so is malformed.
func TestARMGzipAnswers(t *testing.T) {
	imds, _ := fakeIMDS(t)
	vm := fixture(t, "vm.json")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(vm)
	zw.Close()
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET jumpbox": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(zipped.Bytes())
		},
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte(`{"name":"not gzip"}`))
		},
	})
	s := mustDiscover(t, context.Background(), baseOpts(imds.URL, arm)).Wait(context.Background())
	if !s.Read(snapshot.ReadVM).OK() || !s.Read(snapshot.ReadNIC).OK() {
		t.Fatalf("gzip VM answer: vm %+v nic %+v", s.Read(snapshot.ReadVM), s.Read(snapshot.ReadNIC))
	}
	if r := s.Read(snapshot.ReadAPIM); r.Status != snapshot.ReadMalformed || !strings.Contains(r.Message, "not gzip") {
		t.Fatalf("apim read %+v", r)
	}
}
