//go:build linux

package pathtrace

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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

// serve starts a listener on the server's port 443, so that "reached" is a
// real handshake. It is this test binary (TestNetnsServer) rather than a
// forking server, so that a benchmark's thousands of handshakes a second
// never fill the accept queue (a full queue drops SYNs: a silent server).
func (l *lab) serve(t testing.TB) {
	t.Helper()
	srv := exec.Command("ip", "netns", "exec", l.server, os.Args[0], "-test.run=^TestNetnsServer$", "-test.count=1")
	srv.Env = append(os.Environ(), scenarioEnv+"=server")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening") {
		t.Fatalf("server: %q %v", line, err)
	}
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
	fmt.Println("listening")
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
	cmd := exec.Command("ip", "netns", "exec", l.client, os.Args[0], "-test.run=^TestNetnsChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), scenarioEnv+"="+scenario)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNetnsChild") {
		t.Fatalf("scenario %s: %v\n%s", scenario, err, out)
	}
	t.Logf("%s", out)
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
	t.Run("silent router", func(t *testing.T) {
		l.rules(t, "chain egress_out { type filter hook output priority 0; icmp type time-exceeded drop; }")
		l.runChild(t, "silent")
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
	c := NewChecks([]Dependency{{ID: "storage", Host: "198.19.1.2", Port: 443}}, nil, Options{Local: vnet})[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	r := c.Probe.Run(ctx)
	took := time.Since(start)
	t.Logf("%s in %v: %s/%s %s evidence=%v", scenario, took, r.Status, r.Reason, r.Message, r.Evidence)

	hops := r.Evidence["hops"].([]map[string]any)
	switch scenario {
	case "appliance":
		if r.Status != probes.Warn || r.Reason != probes.ReasonForcedTunnel || r.Evidence["appliance"] != "198.18.1.1" ||
			r.Evidence["reached_at_ttl"] != 2 || hops[0]["kind"] != "time-exceeded" || hops[1]["kind"] != "reached" {
			t.Fatalf("want the router as appliance at hop 1 and the server at 2")
		}
		if took > 500*time.Millisecond {
			t.Errorf("took %v: every hop answered, nothing to wait for", took)
		}
	case "refuses":
		if took > 700*time.Millisecond {
			t.Errorf("took %v: the refusal ends the path, the silent hop is given up shortly after", took)
		}
		if r.Status != probes.Warn || r.Evidence["appliance"] != "198.18.1.1" || hops[1]["kind"] != "unreachable" ||
			!strings.Contains(r.Message, "refuses") {
			t.Fatalf("want the router refusing at hop 2")
		}
	case "silent":
		if r.Status != probes.Pass || r.Evidence["reached_at_ttl"] != 2 || hops[0]["kind"] != "silent" {
			t.Fatalf("want a pass: the server answered at TTL 2 and hop 1 stayed silent")
		}
		if took > 700*time.Millisecond {
			t.Errorf("took %v: the silent hop should be given up shortly after the server answered", took)
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
