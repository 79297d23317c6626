package resolver

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/apimprobe/apimprobe/probes"
)

// servfailFor answers SERVFAIL for the listed names (lower case, absolute)
// and hands everything else to z.
func servfailFor(z *zone, names ...string) dns.HandlerFunc {
	fail := map[string]bool{}
	for _, n := range names {
		fail[n] = true
	}
	return func(w dns.ResponseWriter, req *dns.Msg) {
		if fail[strings.ToLower(req.Question[0].Name)] {
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeServerFailure)
			_ = w.WriteMsg(m)
			return
		}
		z.ServeDNS(w, req)
	}
}

// setWithSearch is a set of VNet servers from a resolv.conf with a search
// list and ndots.
func setWithSearch(t *testing.T, exp Expectation, ndots int, servers ...netip.AddrPort) *Set {
	t.Helper()
	rc := DefaultResolvConf()
	rc.Servers = servers
	rc.Search = []string{"corp.example"}
	rc.Ndots = ndots
	set, err := New(Options{ResolvConf: &rc, Expect: Fixed(exp)})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func lookupReason(t *testing.T, set *Set, host string) (probes.Reason, []string, error) {
	t.Helper()
	addrs, err := set.LookupHost(ctxT(t, time.Second), host)
	if err == nil {
		return probes.ReasonOK, addrs, nil
	}
	reason, _ := probes.Classify(context.Background(), err)
	return reason, nil, err
}

// TestServFailSearchList: a SERVFAIL for one search-list candidate is neither
// an NXDOMAIN nor an answer. As glibc's res_search does, the next candidate
// is still tried (a later one may answer: glibc 2.36's getaddrinfo returns
// it). When none answers the outcome is SERVFAIL, never the NXDOMAIN of
// another candidate: glibc itself then says only "not found", but the
// diagnosis is the server that failed, and its hint (fix the forwarder) is
// the right one, where NXDOMAIN's (add an A record) would not be.
func TestServFailSearchList(t *testing.T) {
	const searched = gw + ".corp.example."
	for _, tc := range []struct {
		name     string
		ndots    int
		servfail []string
		records  []string
		want     probes.Reason
		addrs    string
	}{
		// ndots 1: the name as given first, then the search list.
		{"as given SERVFAIL, searched NXDOMAIN", 1, []string{gw + "."}, nil, probes.ReasonServFail, ""},
		{"as given SERVFAIL, searched answers", 1, []string{gw + "."}, []string{searched + " 60 IN A 10.1.2.5"}, probes.ReasonOK, "10.1.2.5"},
		// ndots 5: the search list first, then the name as given.
		{"searched SERVFAIL, as given NXDOMAIN", 5, []string{searched}, nil, probes.ReasonServFail, ""},
		{"searched SERVFAIL, as given answers", 5, []string{searched}, []string{gw + ". 60 IN A 10.1.2.5"}, probes.ReasonOK, "10.1.2.5"},
		{"both SERVFAIL", 5, []string{searched, gw + "."}, nil, probes.ReasonServFail, ""},
		// NXDOMAIN and NODATA move on; an answer stops the search.
		{"searched NXDOMAIN, as given answers", 5, nil, []string{gw + ". 60 IN A 10.1.2.5"}, probes.ReasonOK, "10.1.2.5"},
		{"searched NODATA, as given answers", 5, nil, []string{searched + " 60 IN TXT \"x\"", gw + ". 60 IN A 10.1.2.5"}, probes.ReasonOK, "10.1.2.5"},
		{"searched answers first", 5, nil, []string{searched + " 60 IN A 10.1.2.7", gw + ". 60 IN A 10.1.2.5"}, probes.ReasonOK, "10.1.2.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newZone(t, append([]string{publicSOA}, tc.records...)...)
			set := setWithSearch(t, internal, tc.ndots, serve(t, "ip4", servfailFor(z, tc.servfail...)))
			reason, addrs, err := lookupReason(t, set, gw)
			if reason != tc.want || strings.Join(addrs, " ") != tc.addrs {
				t.Fatalf("LookupHost: %s %v (%v), want %s %s", reason, addrs, err, tc.want, tc.addrs)
			}
			c := set.Compare(ctxT(t, time.Second), gw)
			if got := c.Views[0].Reason(); got != tc.want {
				t.Errorf("view: %s (%s), want %s", got, c.Views[0].Describe(), tc.want)
			}
			if tc.want == probes.ReasonServFail {
				if ev := c.Evidence(internal); ev[0].Rcode != "SERVFAIL" || ev[0].Outcome != probes.ReasonServFail {
					t.Errorf("evidence %+v", ev[0])
				}
				r := runCheck(t, set, internal, IDGateway)
				if r.Status != probes.Fail || r.Reason != probes.ReasonServFail || !strings.Contains(r.Hint, "fails for "+gw) {
					t.Errorf("check: %s/%s (%s | %s)", r.Status, r.Reason, r.Message, r.Hint)
				}
			}
		})
	}
}

// TestServFailServerFallThrough: a server that answers SERVFAIL is passed
// over, as glibc passes over it for the next nameserver; a server that
// answers NXDOMAIN is not. So SERVFAIL then NXDOMAIN is NXDOMAIN, NXDOMAIN
// then an answer is still NXDOMAIN, SERVFAIL then an answer is the answer,
// and only SERVFAIL everywhere is SERVFAIL.
func TestServFailServerFallThrough(t *testing.T) {
	servfail := func() netip.AddrPort { return serve(t, "ip4", &zone{rcode: dns.RcodeServerFailure}) }
	nxdomain := func() netip.AddrPort { return serve(t, "ip4", newZone(t, publicSOA)) }
	good := func() netip.AddrPort { return serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5")) }
	for _, tc := range []struct {
		name    string
		servers []netip.AddrPort
		want    probes.Reason
		primary int
	}{
		{"SERVFAIL then answer", []netip.AddrPort{servfail(), good()}, probes.ReasonOK, 1},
		{"SERVFAIL then NXDOMAIN", []netip.AddrPort{servfail(), nxdomain()}, probes.ReasonNXDomain, 1},
		{"NXDOMAIN then answer", []netip.AddrPort{nxdomain(), good()}, probes.ReasonNXDomain, 0},
		{"SERVFAIL twice", []netip.AddrPort{servfail(), servfail()}, probes.ReasonServFail, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := newSet(t, internal, netip.AddrPort{}, tc.servers...)
			reason, addrs, err := lookupReason(t, set, gw)
			if reason != tc.want {
				t.Fatalf("LookupHost: %s %v (%v), want %s", reason, addrs, err, tc.want)
			}
			if c := set.Compare(ctxT(t, time.Second), gw); c.Primary != tc.primary {
				t.Errorf("primary %d, want %d", c.Primary, tc.primary)
			}
			r := runCheck(t, set, internal, IDGateway)
			switch tc.want {
			case probes.ReasonOK:
				// The VM gets its answer, but a server the VNet uses fails:
				// a warning that names it, not a pass and not a failure.
				if r.Status != probes.Warn || r.Reason != probes.ReasonResolverDisagree || !strings.Contains(r.Message, "SERVFAIL") {
					t.Errorf("check: %s/%s (%s)", r.Status, r.Reason, r.Message)
				}
			default:
				if r.Status != probes.Fail || r.Reason != tc.want {
					t.Errorf("check: %s/%s (%s), want fail %s", r.Status, r.Reason, r.Message, tc.want)
				}
			}
		})
	}
}

// TestServFailIsNotPreDeploy: before deployment a name no server knows is
// skipped (the instance does not exist yet), but a server that fails is a
// failure whatever the phase: SERVFAIL is not "does not exist".
func TestServFailIsNotPreDeploy(t *testing.T) {
	pre := internal
	pre.Phase = "auto"
	nx := serve(t, "ip4", newZone(t, publicSOA))
	sf := serve(t, "ip4", &zone{rcode: dns.RcodeServerFailure})
	wantResult(t, runCheck(t, newSet(t, pre, netip.AddrPort{}, nx), pre, IDGateway), probes.Skip, probes.ReasonNotApplicable)
	wantResult(t, runCheck(t, newSet(t, pre, netip.AddrPort{}, sf), pre, IDGateway), probes.Fail, probes.ReasonServFail)
	// NXDOMAIN from the VM's server while Azure DNS fails: not all absent.
	r := runCheck(t, newSet(t, pre, sf, nx), pre, IDGateway)
	if r.Status == probes.Skip || r.Status == probes.Pass {
		t.Errorf("NXDOMAIN beside a SERVFAIL taken as not deployed: %s/%s (%s)", r.Status, r.Reason, r.Message)
	}
}
