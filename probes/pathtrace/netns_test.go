//go:build linux

package pathtrace

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/apimprobe/apimprobe/probes"
)

// The lab: client (198.18.1.2) — router (198.18.1.1 | 198.19.1.1) —
// server (198.19.1.2), three network namespaces joined by veth pairs, using
// only the 198.18.0.0/15 benchmarking range. The router decrements TTL like
// a virtual appliance would; nft rules in it make it silent or refusing.
// The probe runs in the client namespace in a child process (a socket
// belongs to the namespace of the thread that made it, and the probe makes
// them on many goroutines).

const scenarioEnv = "PATHTRACE_NETNS_SCENARIO"

type lab struct {
	client, router, server string
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func newLab(t testing.TB) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("no nft command")
	}
	p := fmt.Sprintf("apx%d", os.Getpid())
	l := &lab{client: p + "-c", router: p + "-r", server: p + "-s"}
	for _, ns := range []string{l.client, l.router, l.server} {
		if err := sh("ip", "netns", "add", ns); err != nil {
			t.Skipf("ip netns does not work here: %v", err)
		}
		t.Cleanup(func() { _ = sh("ip", "netns", "del", ns) })
	}
	steps := [][]string{
		{"ip", "-n", l.client, "link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", l.router},
		{"ip", "-n", l.router, "link", "add", "r1", "type", "veth", "peer", "name", "s0", "netns", l.server},
		{"ip", "-n", l.client, "addr", "add", "198.18.1.2/24", "dev", "c0"},
		{"ip", "-n", l.router, "addr", "add", "198.18.1.1/24", "dev", "r0"},
		{"ip", "-n", l.router, "addr", "add", "198.19.1.1/24", "dev", "r1"},
		{"ip", "-n", l.server, "addr", "add", "198.19.1.2/24", "dev", "s0"},
	}
	for _, ns := range []string{l.client, l.router, l.server} {
		steps = append(steps, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	steps = append(steps,
		[]string{"ip", "-n", l.client, "link", "set", "c0", "up"},
		[]string{"ip", "-n", l.router, "link", "set", "r0", "up"},
		[]string{"ip", "-n", l.router, "link", "set", "r1", "up"},
		[]string{"ip", "-n", l.server, "link", "set", "s0", "up"},
		[]string{"ip", "-n", l.client, "route", "add", "default", "via", "198.18.1.1"},
		[]string{"ip", "-n", l.server, "route", "add", "default", "via", "198.19.1.1"},
		[]string{"ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		// Linux rate-limits ICMP errors per destination, and all of them
		// together to icmp_msgs_per_sec (1000/s, bursts of 50); the tests
		// send bursts from one client and the benchmarks thousands of
		// probes a second, so lift both limits in the router.
		[]string{"ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"},
		[]string{"ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=1000000"},
		[]string{"ip", "netns", "exec", l.router, "sysctl", "-qw", "net.ipv4.icmp_msgs_burst=1000000"},
	)
	for _, s := range steps {
		if err := sh(s...); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// daemon runs this test binary's test named run in namespace ns with
// scenarioEnv set to role, and waits until it prints "ready". It is stopped
// by the returned function, and at the latest when t ends.
func (l *lab) daemon(t testing.TB, ns, run, role string, env ...string) (stop func()) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), scenarioEnv+"="+role), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		stop()
		t.Fatalf("%s in %s: %q %v", run, ns, line, err)
	}
	return stop
}

// serve starts a listener on the server's port 443, so that "reached" is a
// real handshake. It is this test binary (TestNetnsServer) rather than a
// forking server, so that a benchmark's thousands of handshakes a second
// never fill the accept queue (a full queue drops SYNs: a silent server).
func (l *lab) serve(t testing.TB) {
	t.Helper()
	l.daemon(t, l.server, "TestNetnsServer", "server")
}

// slowRouter makes the router answer TTL expiry delay late: its kernel's own
// time exceeded is dropped and TestNetnsSlowRouter sends one in its stead.
// This is a router whose control plane answers after its forwarding plane
// dropped the probe, the way one that punts TTL expiry to a slower path does
// (tc netem would be simpler, but this kernel has no sch_netem).
func (l *lab) slowRouter(t testing.TB, delay time.Duration) (stop func()) {
	t.Helper()
	l.rules(t, "chain egress_out { type filter hook output priority 0; icmp type time-exceeded meta mark != "+slowMark+" drop; }")
	return l.daemon(t, l.router, "TestNetnsSlowRouter", "slowrouter", delayEnv+"="+delay.String())
}

const (
	delayEnv = "PATHTRACE_NETNS_DELAY"
	slowMark = "0x2a"
)

// TestNetnsSlowRouter runs in the router namespace: for each TCP packet that
// arrives on r0 (from the client) with TTL 1, which the kernel drops as
// expired, it sends the ICMP time exceeded itself after $PATHTRACE_NETNS_DELAY,
// quoting the IP header and first 8 bytes (ports, sequence) as RFC 792 asks,
// from a raw socket whose mark lets it past the rule that drops the kernel's.
func TestNetnsSlowRouter(t *testing.T) {
	if os.Getenv(scenarioEnv) != "slowrouter" {
		t.Skip("only run by slowRouter")
	}
	delay, err := time.ParseDuration(os.Getenv(delayEnv))
	if err != nil {
		t.Fatal(err)
	}
	ifi, err := net.InterfaceByName("r0")
	if err != nil {
		t.Fatal(err)
	}
	// The protocol of a packet socket is in network order.
	ethIP := binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, unix.ETH_P_IP))
	pfd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(ethIP))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(pfd, &unix.SockaddrLinklayer{Protocol: ethIP, Ifindex: ifi.Index}); err != nil {
		t.Fatal(err)
	}
	rfd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		t.Fatal(err)
	}
	mark, _ := strconv.ParseUint(slowMark, 0, 32)
	if err := unix.SetsockoptInt(rfd, unix.SOL_SOCKET, unix.SO_MARK, int(mark)); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	buf := make([]byte, 4096)
	for {
		n, from, err := unix.Recvfrom(pfd, buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		p := buf[:n]
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if len(p) < 20 || p[0]>>4 != 4 || p[8] != 1 || p[9] != unix.IPPROTO_TCP {
			continue
		}
		ihl := int(p[0]&0x0f) * 4
		if len(p) < ihl+8 {
			continue
		}
		msg := make([]byte, 8+ihl+8) // type 11, code 0, checksum, unused
		msg[0] = 11
		copy(msg[8:], p[:ihl+8])
		binary.BigEndian.PutUint16(msg[2:4], inetChecksum(msg))
		to := &unix.SockaddrInet4{Addr: [4]byte(p[12:16])}
		time.AfterFunc(delay, func() {
			if err := unix.Sendto(rfd, msg, 0, to); err != nil {
				fmt.Fprintln(os.Stderr, "slow router:", err)
			}
		})
	}
}

// inetChecksum is the Internet checksum (RFC 1071).
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// TestNetnsServer is the server of the lab: it accepts and closes
// connections on 198.19.1.2:443 until it is killed.
func TestNetnsServer(t *testing.T) {
	if os.Getenv(scenarioEnv) != "server" {
		t.Skip("only run by serve")
	}
	ln, err := net.Listen("tcp", "198.19.1.2:443")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}

// rules replaces the router's nft rules.
func (l *lab) rules(t testing.TB, rules ...string) {
	t.Helper()
	if err := sh("ip", "netns", "exec", l.router, "nft", "flush", "ruleset"); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		return
	}
	script := "table ip apx {\n" + strings.Join(rules, "\n") + "\n}\n"
	cmd := exec.Command("ip", "netns", "exec", l.router, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
}

func (l *lab) runChild(t *testing.T, scenario string) {
	t.Helper()
	l.runChildTries(t, scenario, 1)
}

// runChildTries is runChild for a scenario whose premise rests on the
// scheduler: it passes when one of tries runs passes. The late router is a
// user-space daemon that must answer within the few milliseconds hopWait
// gives; on a loaded machine it is sometimes not scheduled in time, which
// says nothing of the code under test.
func (l *lab) runChildTries(t *testing.T, scenario string, tries int) {
	t.Helper()
	var out []byte
	var err error
	for i := 0; i < tries; i++ {
		cmd := exec.Command("ip", "netns", "exec", l.client, os.Args[0], "-test.run=^TestNetnsChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), scenarioEnv+"="+scenario)
		out, err = cmd.CombinedOutput()
		if err == nil && strings.Contains(string(out), "--- PASS: TestNetnsChild") {
			t.Logf("%s", out)
			return
		}
		t.Logf("scenario %s, run %d of %d: %v\n%s", scenario, i+1, tries, err, out)
	}
	t.Fatalf("scenario %s failed %d runs in a row: %v", scenario, tries, err)
}

func TestNetnsPath(t *testing.T) {
	if os.Getenv(scenarioEnv) != "" {
		t.Skip("inside the child")
	}
	l := newLab(t)
	l.serve(t)

	t.Run("appliance answers", func(t *testing.T) {
		l.rules(t)
		l.runChild(t, "appliance")
	})
	t.Run("appliance refuses", func(t *testing.T) {
		l.rules(t,
			"chain egress_out { type filter hook output priority 0; icmp type time-exceeded drop; }",
			"chain transit { type filter hook forward priority 0; tcp dport 443 reject with icmp type admin-prohibited; }")
		l.runChild(t, "refuses")
	})
	// The bound of hopWait in this lab: the server answers in about
	// 0.1 ms, so a hop is given about 5.2 ms after its probe left. An
	// answer 2 ms late, twenty times the server's round trip, is found;
	// one 50 ms late is past what a router nearer than the server can
	// take, and the check says the path was not fully seen.
	t.Run("appliance answers late", func(t *testing.T) {
		defer l.slowRouter(t, 2*time.Millisecond)()
		l.runChildTries(t, "late", 3)
	})
	t.Run("appliance answers too late", func(t *testing.T) {
		defer l.slowRouter(t, 50*time.Millisecond)()
		l.runChild(t, "toolate")
	})
	t.Run("silent router", func(t *testing.T) {
		l.rules(t, "chain egress_out { type filter hook output priority 0; icmp type time-exceeded drop; }")
		l.runChild(t, "silent")
	})
	t.Run("rate-limited appliance", func(t *testing.T) {
		// One time exceeded a minute: the first trace's, then silence
		// (ICMP rate limiting, as routers and appliances do).
		l.rules(t, "chain egress_out { type filter hook output priority 0; icmp type time-exceeded limit rate over 1/minute burst 1 packets drop; }")
		l.runChild(t, "ratelimited")
	})
	t.Run("black hole", func(t *testing.T) {
		l.rules(t,
			"chain egress_out { type filter hook output priority 0; icmp type time-exceeded drop; }",
			"chain transit { type filter hook forward priority 0; counter drop; }")
		l.runChild(t, "blackhole")
	})
}

// TestNetnsChild runs inside the client namespace.
func TestNetnsChild(t *testing.T) {
	scenario := os.Getenv(scenarioEnv)
	if scenario == "" {
		t.Skip("only run by TestNetnsPath")
	}
	vnet := []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24")}
	c := NewChecks([]Dependency{{Family: "storage", Host: "198.19.1.2", Port: 443}}, nil, Options{Local: vnet})[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	r := c.Probe.Run(ctx)
	took := time.Since(start)
	t.Logf("%s in %v: %s/%s %s evidence=%v", scenario, took, r.Status, r.Reason, r.Message, r.Evidence)

	hops := r.Evidence["hops"].([]map[string]any)
	switch scenario {
	case "appliance":
		if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || r.Appliance != "198.18.1.1" ||
			r.Evidence["reached_at_ttl"] != 2 || hops[0]["kind"] != "time-exceeded" || hops[1]["kind"] != "reached" {
			t.Fatalf("want the router as appliance at hop 1 and the server at 2")
		}
		if took > 500*time.Millisecond {
			t.Errorf("took %v: every hop answered, nothing to wait for", took)
		}
	case "late":
		if r.Status != probes.Warn || r.Appliance != "198.18.1.1" || r.Evidence["reached_at_ttl"] != 2 ||
			hops[0]["kind"] != "time-exceeded" || hops[1]["kind"] != "reached" {
			t.Fatalf("want the router found as appliance at hop 1 though it answered 2 ms late")
		}
		if rtt := hops[0]["rtt_ms"].(int64); rtt < 2 || rtt <= hops[1]["rtt_ms"].(int64) {
			t.Fatalf("hop 1 answered in %d ms: not later than the server, the test proves nothing", rtt)
		}
	case "toolate":
		if r.Status != probes.Skip || r.Reason != probes.ReasonNotObservable || r.Evidence["reached_at_ttl"] != 2 || hops[0]["kind"] != "silent" ||
			!strings.Contains(r.Message, "cannot be fully seen") {
			t.Fatalf("want skip not-observable saying the path cannot be fully seen: hop 1 answered past the bound")
		}
		if took > 40*time.Millisecond {
			t.Errorf("took %v: waited for an answer 50 ms late though the server answered within a millisecond", took)
		}
		// The router does answer, only later: a probe that waits sees it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h, err := probeTTL(ctx, netip.MustParseAddrPort("198.19.1.2:443"), 1, func() {})
		if err != nil || h.Kind != TimeExceeded || h.Addr != netip.MustParseAddr("198.18.1.1") || h.RTT < 50*time.Millisecond {
			t.Fatalf("a patient probe: %+v %v, want the router's time exceeded after 50 ms", h, err)
		}
	case "refuses":
		if took > 700*time.Millisecond {
			t.Errorf("took %v: the refusal ends the path, the silent hop is given up shortly after", took)
		}
		if r.Status != probes.Warn || r.Appliance != "198.18.1.1" || hops[1]["kind"] != "unreachable" ||
			!strings.Contains(r.Message, "refuses") {
			t.Fatalf("want the router refusing at hop 2")
		}
	case "silent":
		if r.Status != probes.Skip || r.Reason != probes.ReasonNotObservable || r.Evidence["reached_at_ttl"] != 2 || hops[0]["kind"] != "silent" ||
			!strings.Contains(r.Message, "cannot be fully seen") || r.Hint == "" {
			t.Fatalf("want skip not-observable saying the path cannot be fully seen: the server answered at TTL 2 and hop 1 stayed silent")
		}
		if took > 60*time.Millisecond {
			t.Errorf("took %v: the silent hop should be given up a few ms after the server answered", took)
		}
	case "ratelimited":
		// The appliance answers the first trace, then rate-limits its
		// time exceeded: the second trace must not pass on its silence.
		if r.Status != probes.Warn || r.Appliance != "198.18.1.1" {
			t.Fatalf("first trace: want the appliance found")
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		r2 := c.Probe.Run(ctx2)
		t.Logf("second trace: %s/%s %s", r2.Status, r2.Reason, r2.Message)
		if r2.Status == probes.Pass || (r2.Status != probes.Warn && r2.Reason != probes.ReasonNotObservable) {
			t.Fatalf("second trace, the appliance rate-limited: %s/%s, want warn or skip not-observable, never pass", r2.Status, r2.Reason)
		}
	case "blackhole":
		if r.Status != probes.Skip || r.Reason != probes.ReasonNotObservable || r.Hint == "" {
			t.Fatalf("want skip not-observable when nothing answers")
		}
		if took < 900*time.Millisecond || took > 1300*time.Millisecond {
			t.Errorf("took %v, want the check's 1s limit", took)
		}
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
}
