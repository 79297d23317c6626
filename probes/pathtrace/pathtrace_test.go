//go:build linux

package pathtrace

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// cmsg packs one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func extErr(origin, typ, code uint8, offender []byte) []byte {
	d := make([]byte, 16, 16+len(offender))
	binary.NativeEndian.PutUint32(d[0:4], uint32(unix.EHOSTUNREACH))
	d[4], d[5], d[6] = origin, typ, code
	return append(d, offender...)
}

func sockaddr4(a [4]byte) []byte {
	b := make([]byte, unix.SizeofSockaddrInet4)
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET)
	copy(b[4:8], a[:])
	return b
}

func sockaddr6(a [16]byte) []byte {
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET6)
	copy(b[8:24], a[:])
	return b
}

func TestParseErrQueueSynthetic(t *testing.T) {
	hop := netip.MustParseAddr("10.0.0.4")
	ee, from, ok := parseErrQueue(cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP, 11, 0, sockaddr4(hop.As4()))))
	if !ok || from != hop || kindOf(ee) != TimeExceeded {
		t.Errorf("v4 time exceeded: %v %v %v", ee, from, ok)
	}
	ee, from, ok = parseErrQueue(cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP, 3, 13, sockaddr4(hop.As4()))))
	if !ok || from != hop || kindOf(ee) != Unreachable || ee.Code != 13 {
		t.Errorf("v4 admin prohibited: %v %v %v", ee, from, ok)
	}
	hop6 := netip.MustParseAddr("fd00::4")
	ee, from, ok = parseErrQueue(cmsg(unix.IPPROTO_IPV6, unix.IPV6_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP6, 3, 0, sockaddr6(hop6.As16()))))
	if !ok || from != hop6 || kindOf(ee) != TimeExceeded {
		t.Errorf("v6 time exceeded: %v %v %v", ee, from, ok)
	}
	// Not from the network, truncated, wrong level, garbage: nothing.
	for name, b := range map[string][]byte{
		"local origin":    cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_LOCAL, 0, 0, sockaddr4(hop.As4()))),
		"short offender":  cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP, 11, 0, []byte{2, 0})),
		"no offender":     cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP, 11, 0, nil)),
		"unknown family":  cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, extErr(unix.SO_EE_ORIGIN_ICMP, 11, 0, make([]byte, 16))),
		"other cmsg":      cmsg(unix.SOL_SOCKET, unix.SCM_RIGHTS, make([]byte, 4)),
		"short ext error": cmsg(unix.IPPROTO_IP, unix.IP_RECVERR, make([]byte, 8)),
		"garbage":         {1, 2, 3},
		"empty":           nil,
	} {
		if _, _, ok := parseErrQueue(b); ok {
			t.Errorf("%s: parsed as a hop", name)
		}
	}
}

// The kernel's own error-queue layout, on loopback: a UDP datagram to a
// closed port draws an ICMP port unreachable that IP_RECVERR queues with
// the offender's address. This is the same path a time exceeded takes.
func TestParseErrQueueFromKernel(t *testing.T) {
	for _, tc := range []struct {
		family int
		level  int
		opt    int
		addr   netip.Addr
	}{
		{unix.AF_INET, unix.IPPROTO_IP, unix.IP_RECVERR, netip.MustParseAddr("127.0.0.1")},
		{unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, netip.MustParseAddr("::1")},
	} {
		t.Run(tc.addr.String(), func(t *testing.T) {
			closed := closedUDPPort(t, tc.addr)
			fd, err := unix.Socket(tc.family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Skipf("no %s socket: %v", tc.addr, err)
			}
			defer unix.Close(fd)
			if err := unix.SetsockoptInt(fd, tc.level, tc.opt, 1); err != nil {
				t.Fatal(err)
			}
			var sa unix.Sockaddr
			if tc.addr.Is4() {
				sa = &unix.SockaddrInet4{Port: closed, Addr: tc.addr.As4()}
			} else {
				sa = &unix.SockaddrInet6{Port: closed, Addr: tc.addr.As16()}
			}
			if err := unix.Sendto(fd, []byte("apimprobe"), 0, sa); err != nil {
				t.Skipf("cannot send on %s: %v", tc.addr, err)
			}
			var buf, oob [512]byte
			deadline := time.Now().Add(2 * time.Second)
			for {
				_, oobn, _, _, err := unix.Recvmsg(fd, buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
				if err == nil {
					ee, from, ok := parseErrQueue(oob[:oobn])
					if !ok || from != tc.addr || kindOf(ee) != Unreachable {
						t.Fatalf("kernel error queue parsed as %+v from %v ok=%v", ee, from, ok)
					}
					wantType := uint8(3) // ICMP dest unreachable, code 3 port
					if tc.addr.Is6() {
						wantType = 1 // ICMPv6 dest unreachable, code 4 port
					}
					if ee.Type != wantType {
						t.Errorf("ICMP type %d, want %d", ee.Type, wantType)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no error queued: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func closedUDPPort(t *testing.T, a netip.Addr) int {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		t.Skipf("no UDP on %s: %v", a, err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return port
}

func TestProbeTTLLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h, err := probeTTL(ctx, testtool.Accepting(t), 1, func() {})
	if err != nil || h.Kind != Reached || h.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("listening port: %+v %v", h, err)
	}
	h, err = probeTTL(ctx, testtool.Refusing(t), 1, func() {})
	if err != nil || h.Kind != Refused {
		t.Errorf("closed port: %+v %v", h, err)
	}
	// A context that is already over returns at once, silent.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	h, err = probeTTL(done, testtool.Accepting(t), 1, func() {})
	if err != nil || h.Kind != Silent {
		t.Errorf("cancelled: %+v %v", h, err)
	}
}

func TestTraceLoopbackStopsWhenReached(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	hops, err := Trace(ctx, testtool.Accepting(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(hops) != 4 || hops[0].Kind != Reached {
		t.Fatalf("hops = %+v", hops)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v though the destination answered at TTL 1", took)
	}
}

type mapResolver map[string][]string

// AnswersLoopback: the test's servers live on 127.0.0.1 (probes.LoopbackAnswers).
func (mapResolver) AnswersLoopback() bool { return true }

func (m mapResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestCheckLoopback(t *testing.T) {
	ap := testtool.Accepting(t)
	res := mapResolver{"storage.test": {"127.0.0.1"}}
	checks := NewChecks([]Dependency{
		{Family: "storage", Host: "storage.test", Port: int(ap.Port())},
		{Family: "sql", Host: "sql.test", Port: 1433, Addresses: []string{"127.0.0.1"}},
		{Family: "kv", Host: "nxdomain.test", Port: 443},
	}, res, Options{})
	if checks[0].ID != "route.path.storage" || checks[0].Target.String() != "storage.test:"+strconv.Itoa(int(ap.Port())) || checks[0].Category != "Routing" {
		t.Errorf("check = %+v", checks[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r := checks[0].Probe.Run(ctx)
	if r.Status != probes.Pass || r.Evidence["reached_at_ttl"] != 1 || r.Addresses[0] != "127.0.0.1" {
		t.Errorf("storage: %+v", r)
	}
	r = checks[1].Probe.Run(ctx) // nothing listens on 1433: a reset still proves the path
	if r.Status != probes.Pass || r.Evidence["reached_at_ttl"] != 1 {
		t.Errorf("sql: %+v", r)
	}
	r = checks[2].Probe.Run(ctx)
	if r.Status != probes.Skip || r.Reason != probes.ReasonNoData || r.Evidence["cause"] != "nxdomain" || r.Hint == "" {
		t.Errorf("nxdomain: %+v", r)
	}
}

func TestJudge(t *testing.T) {
	dst := netip.MustParseAddrPort("20.60.1.1:443")
	d := Dependency{Family: "storage", Host: "acct.blob.core.windows.net", Port: 443}
	silent := func(ttl int) Hop { return Hop{TTL: ttl, Kind: Silent} }
	te := func(ttl int, a string) Hop {
		return Hop{TTL: ttl, Kind: TimeExceeded, Addr: netip.MustParseAddr(a), RTT: time.Millisecond}
	}
	reached := func(ttl int) Hop { return Hop{TTL: ttl, Kind: Reached, Addr: dst.Addr()} }
	vnet := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")}

	cases := []struct {
		name      string
		hops      []Hop
		status    probes.Status
		appliance string
	}{
		{"appliance at hop 1", []Hop{te(1, "10.0.0.4"), te(2, "203.0.113.1"), silent(3), silent(4)}, probes.Warn, "10.0.0.4"},
		{"appliance behind a silent hop", []Hop{silent(1), te(2, "172.16.5.4"), silent(3), silent(4)}, probes.Warn, "172.16.5.4"},
		{"appliance in a VNet with public space", []Hop{te(1, "198.18.0.4"), silent(2), silent(3), silent(4)}, probes.Warn, "198.18.0.4"},
		{"unreachable from an appliance", []Hop{{TTL: 1, Kind: Unreachable, Addr: netip.MustParseAddr("10.1.0.4")}, silent(2), silent(3), silent(4)}, probes.Warn, "10.1.0.4"},
		{"reached at 1", []Hop{reached(1), reached(2), reached(3), reached(4)}, probes.Pass, ""},
		// Silence is unseen, not cleared: an appliance that rate-limits its
		// time-exceeded replies (or is set not to send them) looks the
		// same as Azure's fabric, so a silent hop before the destination
		// or the first public router is never a pass on its own.
		{"reached after silence", []Hop{silent(1), silent(2), reached(3), reached(4)}, probes.Skip, ""},
		{"rate-limited appliance, then the destination", []Hop{silent(1), reached(2), reached(3), reached(4)}, probes.Skip, ""},
		{"public routers after silence", []Hop{silent(1), te(2, "203.0.113.1"), te(3, "203.0.113.2"), silent(4)}, probes.Skip, ""},
		{"public routers from hop 1", []Hop{te(1, "203.0.113.1"), te(2, "203.0.113.2"), silent(3), silent(4)}, probes.Pass, ""},
		{"reached after a public router", []Hop{te(1, "203.0.113.1"), reached(2), reached(3), reached(4)}, probes.Pass, ""},
		{"all silent", []Hop{silent(1), silent(2), silent(3), silent(4)}, probes.Skip, ""},
		// A private hop beyond the destination (echo of the reached
		// one) is not on the path.
		{"private after reached", []Hop{reached(1), te(2, "10.0.0.4"), silent(3), silent(4)}, probes.Pass, ""},
	}
	for _, tc := range cases {
		ev := map[string]any{}
		r := judge(d, dst, tc.hops, 5*time.Millisecond, vnet, ev)
		if r.Status != tc.status {
			t.Errorf("%s: status %s (%s), want %s", tc.name, r.Status, r.Message, tc.status)
			continue
		}
		switch r.Status {
		case probes.Warn:
			if r.Reason != probes.ReasonForcedTunnel || r.Appliance != tc.appliance || r.Hint == "" ||
				!strings.Contains(r.Hint, tc.appliance) || !strings.Contains(r.Hint, "acct.blob.core.windows.net:443") {
				t.Errorf("%s: %+v ev=%v", tc.name, r, ev)
			}
		case probes.Skip:
			if r.Reason != probes.ReasonNotObservable || r.Hint == "" {
				t.Errorf("%s: %+v", tc.name, r)
			}
		case probes.Pass:
			if r.Appliance != "" {
				t.Errorf("%s: appliance named on a pass: %v", tc.name, ev)
			}
		}
	}
}

func TestSilentCheckHonoursContext(t *testing.T) {
	// No hop can be made silent on loopback, but a cancelled run proves the
	// check returns at once and that a run deadline is a fail, not a pass.
	run, cancel := context.WithCancelCause(context.Background())
	cancel(probes.ErrRunDeadline)
	c := NewChecks([]Dependency{{Family: "x", Host: "127.0.0.1", Port: int(testtool.Refusing(t).Port())}}, nil, Options{})[0]
	r := c.Probe.Run(run)
	if r.Status != probes.Fail || r.Reason != probes.ReasonDeadline {
		t.Errorf("run deadline: %+v", r)
	}
}

// filterResolver is a DNS filter answering its sinkhole for every name; it
// is no LoopbackAnswers resolver, as no real one is.
type filterResolver []string

func (f filterResolver) LookupHost(context.Context, string) ([]string, error) { return f, nil }

// A sinkhole answer is wrong-answer in phase resolve, and no probe leaves
// for it: tracing 0.0.0.0 or 127.0.0.1 reaches this machine at TTL 1, which
// read as "no router on the path" (a pass) with anything listening there.
func TestSinkholeIsNotTraced(t *testing.T) {
	ap := testtool.Accepting(t)
	for _, answer := range []string{"0.0.0.0", "::", "127.0.0.1", "::1"} {
		checks := NewChecks([]Dependency{
			{Family: "sql", Host: "sql.test", Port: int(ap.Port())},
			{Family: "kv", Host: "kv.test", Port: int(ap.Port()), Addresses: []string{answer}},
		}, filterResolver{answer}, Options{})
		for _, c := range checks {
			r := c.Probe.Run(context.Background())
			if r.Status != probes.Warn || r.Reason != probes.ReasonWrongAnswer || r.FailedPhase != probes.PhaseResolve || r.Hint == "" || r.Evidence["hops"] != nil {
				t.Errorf("%s answered %s: %s/%s/%s %s %v", c.ID, answer, r.Status, r.Reason, r.FailedPhase, r.Message, r.Evidence)
			}
		}
	}
}
