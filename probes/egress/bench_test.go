package egress

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
)

// One whole check against a loopback echo: resolve-free dial, TLS handshake,
// request, parse, compare.
func BenchmarkEchoCheck(b *testing.B) {
	t := &testing.T{}
	srv, pool := echoServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "203.0.113.9\n") })
	defer srv.Close()
	c := NewCheck(Config{EchoURL: srv.URL, RootCAs: pool, VMPublicIP: netip.MustParseAddr("203.0.113.9")})
	b.ResetTimer()
	for b.Loop() {
		if r := c.Probe.Run(context.Background()); r.Status != "pass" {
			b.Fatal(r.Message)
		}
	}
}

// The comparison against a full AzureCloud tag (thousands of prefixes) when
// the address is outside all of them, the worst case.
func BenchmarkJudgeAzureCloudMiss(b *testing.B) {
	tags := make([]netip.Prefix, 0, 8000)
	for i := 0; i < 8000; i++ {
		tags = append(tags, netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 8), byte(i), 0}), 24))
	}
	cfg := Config{TagPrefixes: tags, VMPublicIP: netip.MustParseAddr("20.1.1.1")}
	ip := netip.MustParseAddr("203.0.113.9")
	for b.Loop() {
		if r := cfg.Judge(ip); r.Status != "warn" {
			b.Fatal(r.Status)
		}
	}
}
