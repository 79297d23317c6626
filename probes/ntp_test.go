package probes

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ntpServer answers each datagram on a loopback UDP port with what reply
// makes of the request (nil: stays silent) and returns the port.
func ntpServer(t testing.TB, reply func(req []byte) []byte) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(append([]byte(nil), buf[:n]...)); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return portOf(t, pc.LocalAddr())
}

// serverReply is what a synchronised stratum-2 server sends: mode 4, the
// request's transmit timestamp as origin, its own receive and transmit
// times. edit changes it before it is sent.
func serverReply(edit func(b []byte)) func(req []byte) []byte {
	return func(req []byte) []byte {
		if len(req) < ntpPacketLen || req[0]&7 != ntpModeClient {
			return nil // not a client request: a real server ignores it
		}
		b := make([]byte, ntpPacketLen)
		b[0] = 0<<6 | 4<<3 | ntpModeServer
		b[1] = 2 // stratum
		b[2], b[3] = 6, 0xec
		copy(b[12:16], []byte{198, 18, 0, 1}) // reference id: its upstream's address
		now := ntpTime(time.Now())
		binary.BigEndian.PutUint64(b[16:], now-1<<32) // reference time
		copy(b[24:32], req[40:48])                    // origin = the client's transmit
		binary.BigEndian.PutUint64(b[32:], now)       // receive
		binary.BigEndian.PutUint64(b[40:], now)       // transmit
		if edit != nil {
			edit(b)
		}
		return b
	}
}

func TestNTPOutcomes(t *testing.T) {
	res := mapResolver{"time.test": {"127.0.0.1"}}
	kiss := func(code string) func(b []byte) {
		return func(b []byte) {
			b[1] = 0
			copy(b[12:16], code)
			binary.BigEndian.PutUint64(b[32:], 0)
			binary.BigEndian.PutUint64(b[40:], 0)
		}
	}
	cases := []struct {
		name   string
		port   func(t testing.TB) int
		host   string
		status Status
		reason Reason
		phase  Phase
		msg    string
	}{
		{"answers well", func(t testing.TB) int { return ntpServer(t, serverReply(nil)) }, "time.test", Pass, ReasonOK, PhaseNone, "stratum 2, reference 198.18.0.1"},
		{"garbage", func(t testing.TB) int {
			return ntpServer(t, func([]byte) []byte { return []byte("HTTP/1.1 400 Bad Request\r\n\r\n") })
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "not an NTP packet"},
		{"echo of the request", func(t testing.TB) int {
			return ntpServer(t, func(req []byte) []byte { return req })
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "mode 3, not 4"},
		{"answer to another request", func(t testing.TB) int {
			return ntpServer(t, serverReply(func(b []byte) { b[31] ^= 0xff }))
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "origin timestamp"},
		{"kiss-of-death RATE", func(t testing.TB) int { return ntpServer(t, serverReply(kiss("RATE"))) }, "time.test", Fail, ReasonRefused, PhaseConnect, `kiss-of-death "RATE"`},
		{"kiss-of-death DENY", func(t testing.TB) int { return ntpServer(t, serverReply(kiss("DENY"))) }, "time.test", Fail, ReasonRefused, PhaseConnect, "access denied"},
		{"unsynchronised (leap 3)", func(t testing.TB) int {
			return ntpServer(t, serverReply(func(b []byte) { b[0] |= 3 << 6 }))
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "leap indicator 3"},
		{"unsynchronised (stratum 16)", func(t testing.TB) int {
			return ntpServer(t, serverReply(func(b []byte) { b[1] = 16 }))
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "stratum 16"},
		{"no transmit timestamp", func(t testing.TB) int {
			return ntpServer(t, serverReply(func(b []byte) { binary.BigEndian.PutUint64(b[40:], 0) }))
		}, "time.test", Fail, ReasonWrongAnswer, PhaseConnect, "no transmit timestamp"},
		{"silent", func(t testing.TB) int { return ntpServer(t, func([]byte) []byte { return nil }) }, "time.test", Fail, ReasonTimeout, PhaseConnect, "silent drop of UDP"},
		{"port unreachable", closedUDPPort, "time.test", Fail, ReasonRefused, PhaseConnect, "ICMP port unreachable"},
		{"nxdomain", func(t testing.TB) int { return 123 }, "missing.test", Fail, ReasonNXDomain, PhaseResolve, "missing.test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NTP{Host: tc.host, Port: tc.port(t), Resolver: res}
			start := time.Now()
			r := p.Run(ctxTimeout(t, 400*time.Millisecond))
			if r.Status != tc.status || r.Reason != tc.reason || r.FailedPhase != tc.phase {
				t.Fatalf("got %s/%s/%q (%s), want %s/%s/%q", r.Status, r.Reason, r.FailedPhase, r.Message, tc.status, tc.reason, tc.phase)
			}
			if !strings.Contains(r.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", r.Message, tc.msg)
			}
			if tc.reason == ReasonTimeout && time.Since(start) < 350*time.Millisecond {
				t.Fatalf("a silent server must be waited for until the check's limit, gave up after %s", time.Since(start))
			}
			if tc.reason != ReasonNXDomain && (r.Dialled == "" || !strings.HasPrefix(r.Dialled, "127.0.0.1:")) {
				t.Fatalf("dialled %q: the address asked must be reported", r.Dialled)
			}
		})
	}
}

func TestNTPPassEvidence(t *testing.T) {
	// A server whose clock is 3 s ahead: the offset is reported, and is no failure.
	port := ntpServer(t, serverReply(func(b []byte) {
		ahead := ntpTime(time.Now().Add(3 * time.Second))
		binary.BigEndian.PutUint64(b[32:], ahead)
		binary.BigEndian.PutUint64(b[40:], ahead)
		b[1] = 1
		copy(b[12:16], "GPS\x00")
	}))
	r := NTP{Host: "127.0.0.1", Port: port}.Run(ctxTimeout(t, time.Second))
	if r.Status != Pass {
		t.Fatalf("got %s/%s: %s", r.Status, r.Reason, r.Message)
	}
	ev := r.EvidenceMap()
	if ev["ntp_stratum"] != 1 || ev["ntp_refid"] != "GPS" || ev["ntp_leap"] != 0 || ev["dialled"] != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
		t.Fatalf("evidence %v", ev)
	}
	if off := ev["ntp_offset_ms"].(int64); off < 2900 || off > 3100 {
		t.Fatalf("offset %dms, want about +3000ms", off)
	}
	if _, ok := r.Phases["ntp_ms"]; !ok {
		t.Fatalf("phases %v lack the exchange's time", r.Phases)
	}
}

func TestNTPRunDeadlineIsNamed(t *testing.T) {
	port := ntpServer(t, func([]byte) []byte { return nil })
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, ErrRunDeadline)
	defer cancel()
	r := NTP{Host: "127.0.0.1", Port: port}.Run(ctx)
	if r.Status != Fail || r.Reason != ReasonDeadline {
		t.Fatalf("got %s/%s: %s", r.Status, r.Reason, r.Message)
	}
}

func TestNTPTimestamps(t *testing.T) {
	for _, s := range []string{"2026-12-04T10:00:00.123456789Z", "2036-02-07T06:28:15Z", "2036-02-07T06:28:16.5Z", "2099-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		got := fromNTPTime(ntpTime(want))
		if d := got.Sub(want); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: round trip gave %s (off by %s)", s, got, d)
		}
	}
	// 2036-02-07T06:28:16Z is where era 0 ends: seconds wrap to 0.
	if ts := ntpTime(time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)); ts>>32 != 0 {
		t.Errorf("era rollover: seconds %d, want 0", ts>>32)
	}
}

// closedUDPPort is a UDP port nothing listens on: the kernel answers with
// ICMP port unreachable.
func closedUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, pc.LocalAddr())
	pc.Close()
	return port
}
