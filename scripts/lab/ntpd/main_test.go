package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// The lab's responder must satisfy apimprobe's real NTP probe, and ignore
// what is not a client request.
func TestAnswersTheNTPProbe(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serve(pc)
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r := probes.NTP{Host: "127.0.0.1", Port: port}.Run(ctx)
	if r.Status != probes.Pass {
		t.Fatalf("probe: %s/%s: %s", r.Status, r.Reason, r.Message)
	}
	if answer(make([]byte, 48), time.Now()) != nil {
		t.Fatal("a mode-0 packet must not be answered")
	}
	if answer([]byte{0x23}, time.Now()) != nil {
		t.Fatal("a short packet must not be answered")
	}
}

func TestReadAddrs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(f, []byte("198.19.16.2 a.example\n198.19.16.3 b.example\n198.19.16.2 c.example\n\n"), 0o600)
	got, err := readAddrs(f)
	if err != nil || len(got) != 2 || got[0] != "198.19.16.2" || got[1] != "198.19.16.3" {
		t.Fatalf("%v %v", got, err)
	}
	os.WriteFile(f, nil, 0o600)
	if _, err := readAddrs(f); err == nil {
		t.Fatal("an empty hosts file must be an error")
	}
}
