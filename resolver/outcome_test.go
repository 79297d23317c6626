package resolver

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// stalling is a DNS server whose UDP answers a test writes (rawUDP) and
// whose TCP port accepts, reads the query and never answers, until the
// test ends.
func stalling(t *testing.T, udp func(q *dns.Msg) [][]byte) netip.AddrPort {
	t.Helper()
	for range 20 {
		addr := rawUDP(t, udp)
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			continue
		}
		done := make(chan struct{})
		t.Cleanup(func() { close(done); l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); <-done }()
			}
		}()
		return addr
	}
	t.Fatal("no free port for UDP and TCP")
	return netip.AddrPort{}
}

// oneWord runs the same name through the dns.* check's view, a TCP check
// and a TLS check on the same set, and returns each one's reason.
func oneWord(t *testing.T, set *Set, host string, limit time.Duration) (view, tcp, tls probes.Reason, msgs []string) {
	t.Helper()
	v := set.Compare(ctxT(t, limit), host).Views[0]
	r := probes.TCP{Host: host, Port: 443, Resolver: set}.Run(ctxT(t, limit))
	s := probes.TLS{Host: host, Port: 443, Resolver: set}.Run(ctxT(t, limit))
	for _, x := range []probes.Result{r, s} {
		if x.FailedPhase != probes.PhaseResolve || x.Dialled != "" {
			t.Errorf("%s failed in phase %q having dialled %q", x.Reason, x.FailedPhase, x.Dialled)
		}
	}
	return v.Reason(), r.Reason, s.Reason, []string{v.Describe(), r.Message, s.Message}
}

// A NODATA answer (NOERROR, no records) is one reason word in every check
// that reads it: no-answer. A TCP check called it nxdomain, because the
// resolver dressed it as a net.DNSError that is "not found".
func TestNoDataIsNoAnswerEverywhere(t *testing.T) {
	z := newZone(t, privateSOA, gw+". 60 IN TXT \"no address here\"")
	set := newSet(t, internal, netip.AddrPort{}, serve(t, "ip4", z))
	view, tcp, tls, msgs := oneWord(t, set, gw, 2*time.Second)
	for _, got := range []probes.Reason{view, tcp, tls} {
		if got != probes.ReasonNoAnswer {
			t.Errorf("view %s, tcp %s, tls %s; want %s everywhere (%q)", view, tcp, tls, probes.ReasonNoAnswer, msgs)
			break
		}
	}
	if !strings.Contains(msgs[1], "no data") {
		t.Errorf("TCP check's message %q does not say the name has no data", msgs[1])
	}
}

// An A answer truncated over UDP whose TCP retry never answers is a
// dns-timeout, in the dns.* comparison and in the probes: the empty AAAA
// answer beside it says nothing about the name's addresses. It was
// nxdomain (no-answer in the comparison) because the empty answer won the
// merge of A and AAAA.
func TestTruncatedAnswerWithStalledTCPIsATimeout(t *testing.T) {
	addr := stalling(t, func(q *dns.Msg) [][]byte {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			m.Truncated = true // too large for UDP: ask again over TCP
		} else {
			m.Ns = append(m.Ns, rr(t, privateSOA)) // NODATA for AAAA
		}
		return [][]byte{pack(t, m)}
	})
	set := newSet(t, internal, netip.AddrPort{}, addr)
	// The limit only bounds the stall; nothing here measures it.
	view, tcp, tls, msgs := oneWord(t, set, gw, 300*time.Millisecond)
	for _, got := range []probes.Reason{view, tcp, tls} {
		if got != probes.ReasonDNSTimeout {
			t.Errorf("view %s, tcp %s, tls %s; want %s everywhere (%q)", view, tcp, tls, probes.ReasonDNSTimeout, msgs)
			break
		}
	}
	if !strings.Contains(msgs[1], "truncated") {
		t.Errorf("TCP check's message %q does not say the UDP answer was truncated", msgs[1])
	}
}

// A VNet server that never answers, beside an Azure DNS that does, is
// dns-timeout for the name's check every time, in the same words, whether
// its question ended at the check's limit or a moment before it (the last
// try's budget is what was left when it started). It was resolver-disagree,
// "answers no answer (timeout)", when the question ended first: the lab's
// dns-resolver-silent scenario gave either. In virtual time, where
// simultaneous timers fire in a random order.
func TestSilentVNetServerIsOneWordWhateverEndsFirst(t *testing.T) {
	words := map[string]int{}
	for i := range 100 {
		synctest.Test(t, func(t *testing.T) {
			exp := internal
			vnet, azure := memAddr(1), memAddr(2)
			set := newSet(t, exp, azure, vnet)
			early := time.Duration(i%2) * time.Millisecond
			inMemory(set, map[netip.AddrPort]memServer{vnet: {early: early}, azure: {h: newZone(t, gw+". 60 IN A 10.1.2.5")}})
			names := []Name{{ID: IDGateway, Title: "gw", Host: gw, Required: true}}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			r := Checks(set, names, "", Fixed(exp))[0].Probe.Run(ctx)
			words[string(r.Reason)+": "+r.Message]++
			time.Sleep(2 * time.Second) // the questions end with their budget
		})
	}
	if len(words) != 1 {
		t.Fatalf("one situation, %d outcomes: %v", len(words), words)
	}
	for w := range words {
		if !strings.HasPrefix(w, string(probes.ReasonDNSTimeout)+": ") {
			t.Errorf("outcome %q, want dns-timeout", w)
		}
	}
}
