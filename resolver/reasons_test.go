package resolver

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// A server that answers, but with something that is not DNS — a
// compression-pointer loop, a few bytes of garbage — is a failing server
// (servfail, saying the answer was malformed), not a silent one
// (dns-timeout), both in the dns.* comparison and for the probes.
func TestMalformedAnswerIsNotATimeout(t *testing.T) {
	loop := func(q *dns.Msg) []byte {
		b := make([]byte, 12, 64)
		binary.BigEndian.PutUint16(b[0:], q.Id)
		binary.BigEndian.PutUint16(b[2:], 0x8180) // a response, recursion available
		binary.BigEndian.PutUint16(b[4:], 1)      // one question...
		b = append(b, 0xC0, 12)                   // ...whose name points at itself
		return append(b, 0, 1, 0, 1)
	}
	for name, reply := range map[string]func(*dns.Msg) []byte{
		"pointer loop": loop,
		"garbage":      func(*dns.Msg) []byte { return []byte("garbage") },
	} {
		t.Run(name, func(t *testing.T) {
			addr := rawUDP(t, func(q *dns.Msg) [][]byte { return [][]byte{reply(q)} })
			set := newSet(t, internal, netip.AddrPort{}, addr)
			_, err := set.LookupHost(ctxT(t, 3*time.Second), gw)
			reason, msg := probes.Classify(context.Background(), err)
			if reason != probes.ReasonServFail || !strings.Contains(msg, "malformed") {
				t.Errorf("LookupHost: %s %q (%v)", reason, msg, err)
			}
			v := set.Compare(ctxT(t, 3*time.Second), gw).Views[0]
			if v.Reason() != probes.ReasonServFail || !strings.Contains(v.Describe(), "malformed") {
				t.Errorf("view: %s %q", v.Reason(), v.Describe())
			}
		})
	}
}

// A CNAME chain cut at maxChain links is no-answer and says so: the name
// exists, its chain never ends. It used to be nxdomain.
func TestCNAMEChainCutIsNotNXDomain(t *testing.T) {
	var recs []string
	for i := range maxChain + 2 {
		recs = append(recs, "c"+itoa(i)+".example. 60 IN CNAME c"+itoa(i+1)+".example.")
	}
	recs = append(recs, "c"+itoa(maxChain+2)+".example. 60 IN A 10.1.2.3")
	z := newZone(t, recs...)
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := probes.TCP{Host: "c0.example", Port: 443, Resolver: set}.Run(ctxT(t, 3*time.Second))
	if r.Status != probes.Fail || r.Reason != probes.ReasonNoAnswer || r.FailedPhase != probes.PhaseResolve ||
		!strings.Contains(r.Message, "CNAME chain") || r.Hint == "" || r.Dialled != "" {
		t.Errorf("got %s/%s/%s %q hint %q", r.Status, r.Reason, r.FailedPhase, r.Message, r.Hint)
	}
	v := set.Compare(ctxT(t, 3*time.Second), "c0.example").Views[0]
	if v.Reason() != probes.ReasonNoAnswer || !v.ChainCut || !strings.Contains(v.Describe(), "CNAME chain") {
		t.Errorf("view: %s %v %q", v.Reason(), v.ChainCut, v.Describe())
	}
}

// The resolver count is bounded: resolv.conf's first three nameservers, as
// glibc reads them, and at most MaxDNSServers --dns-server values, refused
// past it in one line (the CLI's exit 2). A thousand of them took 1 GB and
// ran out of file descriptors.
func TestResolverCountIsBounded(t *testing.T) {
	var conf strings.Builder
	for i := range 5 {
		conf.WriteString("nameserver 10.0.0." + itoa(i+1) + "\n")
	}
	rc, err := ParseResolvConf(strings.NewReader(conf.String()))
	if err != nil || len(rc.Servers) != maxNameservers || rc.Servers[2].Addr().String() != "10.0.0.3" {
		t.Fatalf("resolv.conf: %v %v", rc.Servers, err)
	}
	rc.Servers = append(rc.Servers, netip.MustParseAddrPort("10.0.0.9:53")) // as if parsed elsewhere
	set, err := New(Options{ResolvConf: &rc})
	if err != nil || len(set.Servers()) != maxNameservers {
		t.Errorf("New kept %d resolv.conf servers (%v)", len(set.Servers()), err)
	}

	var flags []string
	for i := range MaxDNSServers + 1 {
		flags = append(flags, "10.0.1."+itoa(i+1))
	}
	if got, err := ParseServers(flags[:MaxDNSServers]); err != nil || len(got) != MaxDNSServers {
		t.Errorf("ParseServers(%d): %d, %v", MaxDNSServers, len(got), err)
	}
	_, err = ParseServers(flags)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), itoa(MaxDNSServers)) {
		t.Errorf("ParseServers(%d): %v", len(flags), err)
	}
	if _, err := ParseServers([]string{"10.0.0.1", "bogus"}); err == nil {
		t.Errorf("a bad value among good ones was accepted")
	}
	addrs := make([]netip.AddrPort, MaxDNSServers+1)
	for i := range addrs {
		addrs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, byte(i + 1)}), 53)
	}
	if _, err := New(Options{DNSServers: addrs}); err == nil {
		t.Errorf("New accepted %d DNS servers", len(addrs))
	}
}
