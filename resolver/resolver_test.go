package resolver

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

var internal = Expectation{
	Mode:      probes.ModeInternal,
	Phase:     "post",
	PrivateIP: netip.MustParseAddr("10.1.2.5"),
	Subnet:    netip.MustParsePrefix("10.1.2.0/24"),
	VNet:      []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
}

const gw = "contoso.azure-api.net"

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// runCheck builds the dns.* checks for the gateway and runs the one with id.
func runCheck(t *testing.T, set *Set, exp Expectation, id string) probes.Result {
	t.Helper()
	names := []Name{{ID: IDGateway, Title: "gw", Host: gw, Required: true}}
	for _, c := range Checks(set, names, "azure-api.net", Fixed(exp)) {
		if c.ID == id {
			if c.Probe == nil {
				return *c.Preset
			}
			r := c.Probe.Run(ctxT(t, 1500*time.Millisecond))
			if _, err := json.Marshal(r.Evidence); err != nil {
				t.Fatalf("evidence does not marshal: %v", err)
			}
			if (r.Status == probes.Fail || r.Status == probes.Warn) && r.Hint == "" {
				t.Errorf("%s %s without a hint: %s", r.Status, r.Reason, r.Message)
			}
			return r
		}
	}
	t.Fatalf("no check %s", id)
	return probes.Result{}
}

func wantResult(t *testing.T, r probes.Result, st probes.Status, reason probes.Reason) {
	t.Helper()
	if r.Status != st || r.Reason != reason {
		t.Fatalf("got %s/%s (%s), want %s/%s", r.Status, r.Reason, r.Message, st, reason)
	}
}

func TestCorrectPrivateAnswer(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 10.1.2.5", publicSOA)
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Pass, probes.ReasonOK)
	if !slices.Equal(r.Addresses, []string{"10.1.2.5"}) {
		t.Errorf("addresses %v", r.Addresses)
	}
	ev := r.Evidence["resolvers"].([]ViewEvidence)
	if len(ev) != 1 || ev[0].Transport != "udp" || ev[0].Rcode != "NOERROR" || ev[0].Answers[0].Class != ClassExpectedVIP || ev[0].Role != RoleVNet {
		t.Errorf("evidence %+v", ev)
	}
}

func TestPublicAnswer(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 20.50.1.1")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Fail, probes.ReasonPublicAnswer)
	if !strings.Contains(r.Hint, "private DNS zone named "+gw) {
		t.Errorf("hint %q", r.Hint)
	}
}

func TestWrongAnswerInsideSubnet(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 10.1.2.9")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	wantResult(t, runCheck(t, set, internal, IDGateway), probes.Fail, probes.ReasonWrongAnswer)
}

// A VNet may use public address space: an answer inside the VNet's prefixes
// is private, never a public answer.
func TestVNetInPublicRangeIsNotPublic(t *testing.T) {
	exp := Expectation{Mode: probes.ModeInternal, Phase: "post", VNet: []netip.Prefix{netip.MustParsePrefix("20.0.0.0/16")}}
	z := newZone(t, gw+". 60 IN A 20.0.3.4")
	set := newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", z))
	wantResult(t, runCheck(t, set, exp, IDGateway), probes.Pass, probes.ReasonOK)
}

func TestExternalMode(t *testing.T) {
	exp := Expectation{Mode: probes.ModeExternal, Phase: "post"}
	pub := newZone(t, gw+". 60 IN A 20.50.1.1")
	set := newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", pub))
	wantResult(t, runCheck(t, set, exp, IDGateway), probes.Pass, probes.ReasonOK)
	priv := newZone(t, gw+". 60 IN A 10.1.2.5")
	set = newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", priv))
	wantResult(t, runCheck(t, set, exp, IDGateway), probes.Fail, probes.ReasonWrongAnswer)
}

func TestNXDomain(t *testing.T) {
	z := newZone(t, publicSOA)
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Fail, probes.ReasonNXDomain)
	if !strings.Contains(r.Hint, "10.1.2.5") {
		t.Errorf("hint should name the VIP: %q", r.Hint)
	}
	// Before deployment (phase auto or pre) nobody knows the name yet.
	pre := internal
	pre.Phase = "auto"
	set = newSet(t, pre, netip.AddrPort{}, serve(t, "ip4", z))
	wantResult(t, runCheck(t, set, pre, IDGateway), probes.Skip, probes.ReasonNotApplicable)
}

func TestNoAnswer(t *testing.T) {
	z := newZone(t, gw+". 60 IN TXT \"x\"", publicSOA)
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	wantResult(t, runCheck(t, set, internal, IDGateway), probes.Fail, probes.ReasonNoAnswer)
}

func TestServFail(t *testing.T) {
	z := &zone{rcode: dns.RcodeServerFailure}
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Fail, probes.ReasonServFail)
	_, err := set.LookupHost(ctxT(t, time.Second), gw)
	if reason, _ := probes.Classify(context.Background(), err); reason != probes.ReasonServFail {
		t.Errorf("LookupHost error classifies as %s: %v", reason, err)
	}
}

func TestSilentServer(t *testing.T) {
	set := newSet(t, internal, netip.AddrPort{}, silent(t))
	_, err := set.LookupHost(ctxT(t, 600*time.Millisecond), gw)
	if reason, _ := probes.Classify(context.Background(), err); reason != probes.ReasonDNSTimeout {
		t.Errorf("got %s (%v)", reason, err)
	}
	set = newSet(t, internal, netip.AddrPort{}, silent(t))
	wantResult(t, runCheck(t, set, internal, IDGateway), probes.Fail, probes.ReasonDNSTimeout)
}

func TestUDPTimeoutIsRetriedOnce(t *testing.T) {
	var n atomic.Int32
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		if n.Add(1) == 1 {
			return nil // the first datagram is lost
		}
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, rr(t, gw+". 60 IN A 10.1.2.5"))
		}
		return [][]byte{pack(t, m)}
	})
	res, err := exchange(ctxT(t, 2*time.Second), addr, gw, dns.TypeA, 2, 5*time.Second)
	if err != nil || len(res.msg.Answer) != 1 {
		t.Fatalf("retry did not recover: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("server saw %d queries, want 2", got)
	}
}

func TestTruncatedUDPRetriedOverTCP(t *testing.T) {
	recs := []string{publicSOA}
	for i := range 120 {
		recs = append(recs, gw+". 60 IN A 10.1.2."+itoa(i+1))
	}
	z := newZone(t, recs...)
	z.truncateUDP = true
	exp := internal
	exp.PrivateIP = netip.Addr{}
	set := newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", z))
	c := set.Compare(ctxT(t, 2*time.Second), gw)
	v := c.Views[0]
	// Read whole, kept to maxAddrs, and the rest counted.
	if v.Transport != "tcp" || len(v.Addrs) != maxAddrs || v.Dropped != 120-maxAddrs {
		t.Fatalf("transport %s, %d addresses, %d dropped (%v)", v.Transport, len(v.Addrs), v.Dropped, v.Err)
	}
	if ev := c.Evidence(exp)[0]; len(ev.Answers) != maxAddrs || ev.AnswersDropped != 120-maxAddrs || !strings.Contains(v.Describe(), "104 more") {
		t.Errorf("evidence %d answers, %d dropped; %q", len(ev.Answers), ev.AnswersDropped, v.Describe())
	}
	sawTCP := false
	for _, s := range z.queriesSeen() {
		sawTCP = sawTCP || strings.HasPrefix(s, "tcp A ")
	}
	if !sawTCP {
		t.Errorf("no TCP query: %v", z.seen)
	}
	// Transport is per query: a later question goes over UDP first again.
	before := len(z.queriesSeen())
	set.Compare(ctxT(t, 2*time.Second), "other.azure-api.net")
	if seen := z.queriesSeen(); !strings.HasPrefix(seen[before], "udp ") {
		t.Errorf("next query did not start over UDP: %v", seen[before:])
	}
}

// A server that ignores EDNS0 and sends a giant datagram is read whole.
func TestOversizedUDPAnswer(t *testing.T) {
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			for i := range 400 {
				m.Answer = append(m.Answer, rr(t, gw+". 60 IN A 10.1."+itoa(i/250)+"."+itoa(i%250+1)))
			}
		}
		return [][]byte{pack(t, m)}
	})
	exp := internal
	exp.PrivateIP = netip.Addr{}
	set := newSet(t, exp, netip.AddrPort{}, addr)
	c := set.Compare(ctxT(t, 2*time.Second), gw)
	if len(c.Views[0].Addrs) != maxAddrs || c.Views[0].Dropped != 400-maxAddrs || c.Views[0].Transport != "udp" {
		t.Fatalf("%d addresses over %s (%v)", len(c.Views[0].Addrs), c.Views[0].Transport, c.Views[0].Err)
	}
}

func TestMismatchedAnswersAreDiscarded(t *testing.T) {
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		good := new(dns.Msg)
		good.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			good.Answer = append(good.Answer, rr(t, gw+". 60 IN A 10.1.2.5"))
		}
		wrongID := good.Copy()
		wrongID.Id = q.Id + 1
		wrongID.Answer = []dns.RR{rr(t, gw+". 60 IN A 6.6.6.6")}
		wrongQ := good.Copy()
		wrongQ.Question[0].Name = "evil.example."
		wrongQ.Answer = []dns.RR{rr(t, "evil.example. 60 IN A 6.6.6.6")}
		return [][]byte{pack(t, wrongID), pack(t, wrongQ), []byte("garbage"), pack(t, good)}
	})
	set := newSet(t, internal, netip.AddrPort{}, addr)
	addrs, err := set.LookupHost(ctxT(t, 2*time.Second), gw)
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.5"}) {
		t.Fatalf("got %v, %v", addrs, err)
	}
	// Only mismatched answers: the question times out.
	bad := rawUDP(t, func(q *dns.Msg) [][]byte {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Id = q.Id ^ 0xffff
		return [][]byte{pack(t, m)}
	})
	_, err = exchange(ctxT(t, 300*time.Millisecond), bad, gw, dns.TypeA, 2, time.Second)
	if !isTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestPrivateLinkChain(t *testing.T) {
	host := "mystore.blob.core.windows.net"
	priv := newZone(t,
		host+". 60 IN CNAME mystore.privatelink.blob.core.windows.net.",
		"mystore.privatelink.blob.core.windows.net. 60 IN A 10.1.9.4")
	pub := newZone(t,
		host+". 60 IN CNAME mystore.privatelink.blob.core.windows.net.",
		"mystore.privatelink.blob.core.windows.net. 60 IN CNAME blob.ams07prdstr02a.store.core.windows.net.",
		"blob.ams07prdstr02a.store.core.windows.net. 60 IN A 20.60.1.1")
	// The VM's server does not forward to Azure DNS: the chain ends public.
	set := newSet(t, internal, serve(t, "ip4", priv), serve(t, "ip4", pub))
	// Both servers' answers first (a lookup takes the VM's answer without
	// waiting for Azure DNS's, which a loaded machine may not have yet).
	set.Compare(ctxT(t, 2*time.Second), host)
	d, err := set.LookupDetail(ctxT(t, 2*time.Second), host)
	addrs, ev, problem := d.Addrs, d.Evidence, d.Problem
	if err != nil || !slices.Equal(addrs, []string{"20.60.1.1"}) {
		t.Fatalf("got %v %v", addrs, err)
	}
	if problem == nil || problem.Status != probes.Fail || problem.Reason != probes.ReasonPublicAnswer || problem.FailedPhase != probes.PhaseResolve {
		t.Fatalf("problem %+v", problem)
	}
	if !strings.Contains(problem.Hint, "privatelink.blob.core.windows.net") {
		t.Errorf("hint %q", problem.Hint)
	}
	views := ev["resolvers"].([]ViewEvidence)
	if l := d.Lookups; len(l) != 2 || l[0].Server != set.Servers()[0].Addr.String() || l[0].Azure ||
		l[0].Outcome != probes.ReasonOK || !slices.Equal(l[0].Addrs, []string{"20.60.1.1"}) || !slices.Equal(l[1].Addrs, []string{"10.1.9.4"}) {
		t.Errorf("typed lookups %+v", d.Lookups)
	}
	if ev["chosen"] != set.Servers()[0].Addr.String() || len(ev["cname_chain"].([]string)) != 3 {
		t.Errorf("evidence %v", ev)
	}
	if len(views[0].CNAMEChain) != 3 || views[0].CNAMEChain[1] != "mystore.privatelink.blob.core.windows.net" {
		t.Errorf("chain %v", views[0].CNAMEChain)
	}
	// Linked zone: the chain ends at the private endpoint; nothing to report.
	set = newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", priv))
	d, err = set.LookupDetail(ctxT(t, 2*time.Second), host)
	addrs, problem = d.Addrs, d.Problem
	if err != nil || problem != nil || !slices.Equal(addrs, []string{"10.1.9.4"}) {
		t.Fatalf("got %v %+v %v", addrs, problem, err)
	}
}

// A server that sends the chain only one hop at a time is asked again for
// the last target.
func TestCNAMEChainAcrossQueries(t *testing.T) {
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		switch {
		case name == "a.example.":
			m.Answer = []dns.RR{rr(t, "a.example. 60 IN CNAME b.privatelink.example.")}
		case name == "b.privatelink.example." && q.Question[0].Qtype == dns.TypeA:
			m.Answer = []dns.RR{rr(t, "b.privatelink.example. 60 IN A 10.1.9.9")}
		}
		return [][]byte{pack(t, m)}
	})
	set := newSet(t, internal, netip.AddrPort{}, addr)
	c := set.Compare(ctxT(t, 2*time.Second), "a.example")
	v := c.Views[0]
	if !slices.Equal(v.Chain, []string{"a.example", "b.privatelink.example"}) || len(v.Addrs) != 1 {
		t.Fatalf("chain %v addrs %v err %v", v.Chain, v.Addrs, v.Err)
	}
}

func TestResolversDisagree(t *testing.T) {
	azure := serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5", publicSOA))
	custom := serve(t, "ip4", newZone(t, publicSOA)) // does not forward: NXDOMAIN
	set := newSet(t, internal, azure, custom)
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Fail, probes.ReasonResolverDisagree)
	if !strings.Contains(r.Hint, custom.Addr().String()) || !strings.Contains(r.Hint, "168.63.129.16") {
		t.Errorf("hint %q", r.Hint)
	}
	// The VM's server is right, Azure DNS is not (zone not linked): a warning.
	azurePublic := serve(t, "ip4", newZone(t, gw+". 60 IN A 20.50.1.1"))
	good := serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5"))
	set = newSet(t, internal, azurePublic, good)
	wantResult(t, runCheck(t, set, internal, IDGateway), probes.Warn, probes.ReasonResolverDisagree)
}

func TestFirstAnsweringVNetServerIsUsed(t *testing.T) {
	dead := silent(t)
	good := serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5"))
	azure := serve(t, "ip4", newZone(t, gw+". 60 IN A 20.50.1.1"))
	set := newSet(t, internal, azure, dead, good)
	addrs, err := set.LookupHost(ctxT(t, 1500*time.Millisecond), gw)
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.5"}) {
		t.Fatalf("got %v %v (Azure DNS must not be used when VNet servers exist)", addrs, err)
	}
}

// A silent server after the one that answers does not hold the answer up:
// in virtual time, with the servers in memory, the answer takes no time.
func TestSilentServerAfterTheAnswerIsNotWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := memSet(t, memServer{h: newZone(t, gw+". 60 IN A 10.1.2.5")}, memServer{})
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d, err := set.LookupDetail(ctx, gw)
		if el := time.Since(start); err != nil || el != 0 || !slices.Equal(d.Addrs, []string{"10.1.2.5"}) {
			t.Fatalf("took %v: %v %v", el, d.Addrs, err)
		}
		if v := d.Evidence["resolvers"].([]ViewEvidence); v[1].Outcome != "pending" {
			t.Errorf("silent server shown as %q", v[1].Outcome)
		}
		time.Sleep(2 * time.Second) // the silent server's question ends with the budget
	})
}

func TestCacheAsksOncePerRun(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 10.1.2.5")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	for range 5 {
		go set.LookupHost(ctxT(t, time.Second), gw)
	}
	set.Compare(ctxT(t, time.Second), gw)
	set.Compare(ctxT(t, time.Second), strings.ToUpper(gw))
	if n := z.queries.Load(); n != 2 { // one A, one AAAA
		t.Errorf("server asked %d times, want 2", n)
	}
}

func TestSearchAndNdots(t *testing.T) {
	z := newZone(t, "gw.corp.example. 60 IN A 10.1.2.7")
	addr := serve(t, "ip4", z)
	rc, err := ParseResolvConf(strings.NewReader("nameserver " + addr.Addr().String() + "\nsearch corp.example\noptions ndots:2\n"))
	if err != nil {
		t.Fatal(err)
	}
	rc.Servers = []netip.AddrPort{addr}
	set, err := New(Options{ResolvConf: &rc})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := set.LookupHost(ctxT(t, time.Second), "gw")
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.7"}) {
		t.Fatalf("got %v %v; queries %v", addrs, err, z.queriesSeen())
	}
	// An absolute name skips the search list.
	if _, err := set.LookupHost(ctxT(t, time.Second), "gw."); err == nil {
		t.Error("absolute name went through the search list")
	}
}

func TestIPv6Server(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 10.1.2.5", gw+". 60 IN AAAA fd00::5")
	addr := serve(t, "ip6", z)
	set := newSet(t, internal, netip.AddrPort{}, addr)
	addrs, err := set.LookupHost(ctxT(t, time.Second), gw)
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.5", "fd00::5"}) {
		t.Fatalf("got %v %v", addrs, err)
	}
}

func TestRefusedServer(t *testing.T) {
	// A UDP port with nobody listening answers ICMP port unreachable.
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	set := newSet(t, internal, netip.AddrPort{}, addr)
	// Refused, not a dns-timeout: the lookup did not wait for the limit.
	_, err := set.LookupHost(ctxT(t, 2*time.Second), gw)
	if reason, _ := probes.Classify(context.Background(), err); reason != probes.ReasonRefused {
		t.Fatalf("got %s: %v", reason, err)
	}
}

func TestZoneScope(t *testing.T) {
	run := func(t *testing.T, set *Set) probes.Result {
		r := ZoneScopeProbe(set, "azure-api.net", "")(ctxT(t, 2*time.Second))
		if _, err := json.Marshal(r.Evidence); err != nil {
			t.Fatal(err)
		}
		return r
	}
	public := func() netip.AddrPort { return serve(t, "ip4", newZone(t, publicSOA, gw+". 60 IN A 20.50.1.1")) }
	t.Run("public zone", func(t *testing.T) {
		wantResult(t, run(t, newSet(t, internal, public(), public())), probes.Pass, probes.ReasonOK)
	})
	t.Run("private zone named azure-api.net", func(t *testing.T) {
		swallowed := serve(t, "ip4", newZone(t, privateSOA, gw+". 60 IN A 10.1.2.5"))
		r := run(t, newSet(t, internal, swallowed, swallowed))
		wantResult(t, r, probes.Warn, probes.ReasonWrongAnswer)
		if !strings.Contains(r.Hint, "one zone per instance name") {
			t.Errorf("hint %q", r.Hint)
		}
	})
	t.Run("custom server's own zone", func(t *testing.T) {
		own := serve(t, "ip4", newZone(t, "azure-api.net. 300 IN SOA dc1.corp.example. hostmaster.corp.example. 7 900 600 86400 3600", gw+". 60 IN A 10.1.2.5"))
		r := run(t, newSet(t, internal, public(), own))
		wantResult(t, r, probes.Warn, probes.ReasonWrongAnswer)
		if !strings.Contains(r.Hint, own.Addr().String()) {
			t.Errorf("hint %q", r.Hint)
		}
	})
	t.Run("canary that exists publicly", func(t *testing.T) {
		azure := serve(t, "ip4", newZone(t, publicSOA, DefaultCanary("azure-api.net")+". 60 IN A 20.50.9.9"))
		// A server that answers NXDOMAIN for it without any SOA at all.
		custom := serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5"))
		wantResult(t, run(t, newSet(t, internal, azure, custom)), probes.Warn, probes.ReasonWrongAnswer)
	})
	t.Run("silent", func(t *testing.T) {
		r := ZoneScopeProbe(newSet(t, internal, netip.AddrPort{}, silent(t)), "azure-api.net", "")(ctxT(t, 400*time.Millisecond))
		if r.Status != probes.Fail || r.Hint == "" {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestDecidePhase(t *testing.T) {
	set := newSet(t, internal, serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5")), serve(t, "ip4", newZone(t, publicSOA)))
	if p, _ := DecidePhase(ctxT(t, time.Second), set, gw); p != probes.DeployPost {
		t.Errorf("resolvable gateway gave %s", p)
	}
	if p, _ := DecidePhase(ctxT(t, time.Second), set, "absent.azure-api.net"); p != probes.DeployPre {
		t.Errorf("absent gateway gave %s", p)
	}
	if p, _ := DecidePhase(context.Background(), set, ""); p != probes.DeployPre {
		t.Errorf("no service gave %s", p)
	}
}

func TestChecksSkipWithoutService(t *testing.T) {
	names, err := InstanceNames("", "public", probes.ModeInternal, "")
	if err != nil {
		t.Fatal(err)
	}
	cs := Checks(nil, names, "azure-api.net", Fixed(internal))
	if len(cs) != 7 {
		t.Fatalf("%d checks", len(cs))
	}
	for _, c := range cs[:6] {
		if c.Probe != nil || c.Preset == nil || c.Preset.Reason != probes.ReasonNoData || !strings.Contains(c.Preset.Hint, "--service") {
			t.Errorf("%s: %+v", c.ID, c.Preset)
		}
		if c.Kind != "dns" || c.Category != "DNS" {
			t.Errorf("%s kind %s category %s", c.ID, c.Kind, c.Category)
		}
	}
	if cs[6].ID != IDZoneScope || cs[6].Probe == nil {
		t.Errorf("zone-scope check %+v", cs[6])
	}
}

func TestNew(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:53")
	rc := ResolvConf{Servers: []netip.AddrPort{a}}
	s, err := New(Options{ResolvConf: &rc, DNSServers: []netip.AddrPort{a, netip.MustParseAddrPort("127.0.0.2:5353")}, AzureDNS: a})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Servers()
	if len(got) != 2 || got[0].Role != RoleVNet || got[1].Source != "flag" || s.azure != 0 {
		t.Errorf("servers %+v azure %d", got, s.azure)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("an empty set was accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// The outbound probes dial the address this package reports, and file the
// per-resolver evidence under "dns".
func TestOutboundProbeDialsTheReportedAddress(t *testing.T) {
	port := int(testtool.Accepting(t).Port())
	host := "myserver.database.windows.net"
	z := newZone(t, host+". 60 IN CNAME myserver.privatelink.database.windows.net.", "myserver.privatelink.database.windows.net. 60 IN A 127.0.0.1")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	r := probes.TCP{Host: host, Port: port, Resolver: loopbackSet{set}}.Run(ctxT(t, 2*time.Second))
	if r.Status != probes.Pass || !slices.Equal(r.Addresses, []string{"127.0.0.1"}) {
		t.Fatalf("got %+v", r)
	}
	ev, _ := r.Evidence["dns"].(map[string]any)
	if ev == nil || ev["cname_chain"] == nil || ev["resolvers"] == nil {
		t.Errorf("evidence %v", r.Evidence)
	}
}

// loopbackSet is a Set whose servers stand for a network on loopback: its
// 127.0.0.1 answers are the test's services, not a sinkhole.
type loopbackSet struct{ *Set }

func (loopbackSet) AnswersLoopback() bool { return true }
