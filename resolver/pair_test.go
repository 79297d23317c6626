package resolver

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// sources records, for every question a server gets, its type and the
// client's address and port, then answers as h; drop says which questions
// go unanswered (by type and how many of that type came before).
type sources struct {
	h    dns.Handler
	drop func(qtype uint16, seen int) bool
	mu   sync.Mutex
	got  []string // "A 127.0.0.1:40000 udp"
	seen map[uint16]int
}

func (s *sources) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	qt := r.Question[0].Qtype
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[uint16]int{}
	}
	n := s.seen[qt]
	s.seen[qt]++
	s.got = append(s.got, dns.TypeToString[qt]+" "+w.RemoteAddr().String()+" "+w.RemoteAddr().Network())
	s.mu.Unlock()
	if s.drop != nil && s.drop(qt, n) {
		return
	}
	s.h.ServeDNS(w, r)
}

func (s *sources) questions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// A host lookup asks A and AAAA of a server on one UDP socket, as glibc
// does: the two questions come from the same port, once each.
func TestAAndAAAAShareOneSocket(t *testing.T) {
	src := &sources{h: newZone(t, gw+". 60 IN A 10.1.2.5", gw+". 60 IN AAAA fd00::5")}
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", src))
	addrs, err := set.LookupHost(ctxT(t, 2*time.Second), gw)
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.5", "fd00::5"}) {
		t.Fatalf("lookup: %v %v", addrs, err)
	}
	got := src.questions()
	if len(got) != 2 {
		t.Fatalf("questions %v, want A and AAAA once each", got)
	}
	slices.Sort(got)
	a, aaaa := strings.Fields(got[0]), strings.Fields(got[1])
	if a[0] != "A" || aaaa[0] != "AAAA" || a[1] != aaaa[1] || a[2] != "udp" {
		t.Errorf("questions %v, want A and AAAA from one UDP socket", got)
	}
}

// A retry asks again only what is unanswered: the AAAA question's first
// datagram is lost, the A answer comes at once; the second try (a fresh
// socket) carries only AAAA, and both answers are kept.
func TestRetryAsksOnlyTheUnanswered(t *testing.T) {
	src := &sources{h: newZone(t, gw+". 60 IN A 10.1.2.5", gw+". 60 IN AAAA fd00::5"),
		drop: func(qt uint16, seen int) bool { return qt == dns.TypeAAAA && seen == 0 }}
	addr := serve(t, "ip4", src)
	got := exchangeAll(ctxT(t, 2*time.Second), addr, gw, hostTypes, 2, 150*time.Millisecond)
	for i, want := range []string{"10.1.2.5", "fd00::5"} {
		if got[i].err != nil || len(got[i].res.msg.Answer) != 1 {
			t.Fatalf("%s: %+v", dns.TypeToString[hostTypes[i]], got[i])
		}
		var have string
		switch r := got[i].res.msg.Answer[0].(type) {
		case *dns.A:
			have = r.A.String()
		case *dns.AAAA:
			have = r.AAAA.String()
		}
		if have != want {
			t.Errorf("%s answered %s, want %s", dns.TypeToString[hostTypes[i]], have, want)
		}
	}
	qs := src.questions()
	if len(qs) != 3 {
		t.Fatalf("questions %v, want A and AAAA, then AAAA alone", qs)
	}
	first, second, retry := strings.Fields(qs[0]), strings.Fields(qs[1]), strings.Fields(qs[2])
	if first[1] != second[1] || retry[0] != "AAAA" || retry[1] == first[1] {
		t.Errorf("questions %v, want A and AAAA from one socket, then AAAA alone from another", qs)
	}
}

// On the shared socket every datagram must be the answer to one of our
// questions: one with another ID, garbage, and one with the A question's
// ID but the AAAA question in it (a spoofer crossing the two) are skipped,
// and each question gets its own answer.
func TestSharedSocketSkipsForeignDatagrams(t *testing.T) {
	addr := rawUDP(t, func(q *dns.Msg) [][]byte {
		real := new(dns.Msg)
		real.SetReply(q)
		name := q.Question[0].Name
		switch q.Question[0].Qtype {
		case dns.TypeA:
			real.Answer = append(real.Answer, rr(t, name+" 60 IN A 10.1.2.5"))
		case dns.TypeAAAA:
			real.Answer = append(real.Answer, rr(t, name+" 60 IN AAAA fd00::5"))
		}
		otherID := answerA(t, q, "6.6.6.6")
		otherID.Id++
		crossed := real.Copy()
		crossed.Answer = []dns.RR{rr(t, name+" 60 IN AAAA fd00::666")}
		if q.Question[0].Qtype == dns.TypeA {
			crossed.Question[0].Qtype = dns.TypeAAAA
		} else {
			crossed.Question[0].Qtype = dns.TypeA
			crossed.Answer = []dns.RR{rr(t, name+" 60 IN A 6.6.6.7")}
		}
		return [][]byte{pack(t, otherID), {1, 2, 3}, pack(t, crossed), pack(t, real)}
	})
	got := exchangeAll(ctxT(t, 2*time.Second), addr, gw, hostTypes, 1, time.Second)
	if got[0].err != nil || got[1].err != nil {
		t.Fatalf("answers %+v", got)
	}
	if a, ok := got[0].res.msg.Answer[0].(*dns.A); !ok || a.A.String() != "10.1.2.5" {
		t.Errorf("A answered %v", got[0].res.msg.Answer)
	}
	if a, ok := got[1].res.msg.Answer[0].(*dns.AAAA); !ok || a.AAAA.String() != "fd00::5" {
		t.Errorf("AAAA answered %v", got[1].res.msg.Answer)
	}
}

// truncateAAAA answers as its zone, but an AAAA question over UDP gets a
// truncated, empty answer.
type truncateAAAA struct{ z *zone }

func (h truncateAAAA) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if r.Question[0].Qtype == dns.TypeAAAA && w.LocalAddr().Network() == "udp" {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Truncated = true
		_ = w.WriteMsg(m)
		return
	}
	h.z.ServeDNS(w, r)
}

// One of the two answers truncated: only that question is asked again,
// over TCP; the other keeps its UDP answer.
func TestTruncatedOneOfTwoGoesToTCPAlone(t *testing.T) {
	z := newZone(t, gw+". 60 IN A 10.1.2.5", gw+". 60 IN AAAA fd00::5")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", truncateAAAA{z}))
	addrs, err := set.LookupHost(ctxT(t, 2*time.Second), gw)
	if err != nil || !slices.Equal(addrs, []string{"10.1.2.5", "fd00::5"}) {
		t.Fatalf("lookup: %v %v", addrs, err)
	}
	want := []string{"tcp AAAA " + gw + "."}
	if got := z.queriesSeen(); !slices.Contains(got, want[0]) || len(got) != 2 {
		t.Errorf("the zone saw %v, want the A question over UDP and %v", got, want)
	}
}
