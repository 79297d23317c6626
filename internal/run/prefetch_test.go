package run

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/resolver"
)

// The prefetch asks for the names the checks will look up, and not for
// the zone-scope check's target: azure-api.net is a zone whose SOA and
// canary that check asks itself; nothing asks its addresses.
func TestPrefetchSkipsTheZoneScopeTarget(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		mu.Lock()
		asked = append(asked, dns.TypeToString[q.Question[0].Qtype]+" "+strings.ToLower(q.Question[0].Name))
		mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("127.0.0.1")})
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	set, err := resolver.New(resolver.Options{DNSServers: []netip.AddrPort{netip.MustParseAddrPort(pc.LocalAddr().String())}})
	if err != nil {
		t.Fatal(err)
	}
	run := probes.ProbeFunc(func(context.Context) probes.Result { return probes.Passf("ok") })
	checks := []probes.Check{
		{ID: "dns.zone-scope", Kind: probes.KindDNS, Target: probes.Name("azure-api.net"), Facets: probes.Facets{Role: probes.RoleZoneScope}, Probe: run},
		{ID: "dns.gateway", Kind: probes.KindDNS, Target: probes.Name("contoso.azure-api.net"), Facets: probes.Facets{Role: probes.RoleName}, Probe: run},
		{ID: "outbound.storage.blob", Kind: probes.KindTLS, Target: probes.Name("labstore.blob.core.windows.net"), Probe: run},
	}
	prefetch(context.Background(), set, checks, 2*time.Second, 4)()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(asked)
	want := []string{"A contoso.azure-api.net.", "A labstore.blob.core.windows.net.", "AAAA contoso.azure-api.net.", "AAAA labstore.blob.core.windows.net."}
	if !slices.Equal(asked, want) {
		t.Errorf("the prefetch asked %v, want %v", asked, want)
	}
}
