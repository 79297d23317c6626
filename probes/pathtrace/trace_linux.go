//go:build linux

package pathtrace

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// probeTTL sends one TCP SYN toward dst with the given TTL (hop limit) and
// reports who answered. It needs neither root nor raw sockets: with
// IP_RECVERR set, the kernel puts the ICMP error that a router sends back
// (time exceeded, unreachable) on the socket's error queue, offender address
// included, and fails the pending connect. A TCP SYN to the dependency's own
// port takes the same path and passes the same filters as the real traffic,
// which a UDP probe would not.
//
// sent is called once the SYN is on its way and an answer is awaited (not
// when connect answers at once), so that the caller can time the wait for an
// answer from when this very probe left rather than from when the goroutine
// was started: on a loaded machine the probes of one trace may leave
// milliseconds apart.
//
// It returns an error only when the kernel refuses the socket or its options;
// silence until ctx ends is a Hop of kind Silent. When ctx ends it looks at
// the socket once more, so that an answer the kernel has already queued is
// not lost because this goroutine had not been scheduled to read it.
func probeTTL(ctx context.Context, dst netip.AddrPort, ttl int, sent func()) (Hop, error) {
	hop := Hop{TTL: ttl, Kind: Silent}
	if ctx.Err() != nil {
		return hop, nil // no probe leaves after the check is over
	}
	addr := dst.Addr().Unmap()
	fd, f, sa, err := synSocket(addr, dst.Port(), ttl)
	if err != nil {
		return hop, err
	}
	defer f.Close()

	start := time.Now()
	switch err := unix.Connect(fd, sa); {
	case err == nil:
		hop.Kind, hop.Addr, hop.RTT = Reached, addr, time.Since(start)
		return hop, nil
	case errors.Is(err, unix.EINPROGRESS):
	case errors.Is(err, unix.ENETUNREACH), errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		// Refused by this machine's own routing table or firewall: nothing
		// left the host, so there is no hop to name.
		return hop, fmt.Errorf("connect: %w", err)
	default:
		return hop, fmt.Errorf("connect: %w", err)
	}

	sent()
	rc, err := f.SyscallConn()
	if err != nil {
		return hop, fmt.Errorf("poller: %w", err)
	}
	// ctx ends the wait through the poller's deadline, so the goroutine
	// never outlives the check.
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()

	probe := &synProbe{hop: &hop, addr: addr, start: start}
	werr := rc.Write(func(s uintptr) bool { return probe.answered(int(s)) })
	if werr != nil && !errors.Is(werr, os.ErrDeadlineExceeded) {
		return hop, fmt.Errorf("wait: %w", werr)
	}
	if werr != nil {
		// The last look: Control, unlike Write, runs even past the
		// deadline. The kernel handles ICMP and SYN-ACKs in softirq
		// whatever this process is doing, so what is queued now holds
		// everything that arrived in time, however late the poller
		// woke us (an answer found here gets an RTT up to now: an
		// overstatement, never an understatement).
		_ = rc.Control(func(s uintptr) { probe.answered(int(s)) })
	}
	return hop, nil
}

// synSocket is a non-blocking TCP socket toward addr:port whose packets
// leave with the given TTL (hop limit), whose ICMP errors are queued
// (IP_RECVERR), and which closes with a RST. f owns fd and closes it.
func synSocket(addr netip.Addr, port uint16, ttl int) (fd int, f *os.File, sa unix.Sockaddr, err error) {
	family := unix.AF_INET
	if addr.Is4() {
		sa = &unix.SockaddrInet4{Port: int(port), Addr: addr.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(port), Addr: addr.As16()}
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("socket: %w", err)
	}
	// From here on f owns fd and closes it.
	f = os.NewFile(uintptr(fd), "pathtrace")
	if family == unix.AF_INET {
		err = errors.Join(
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, ttl),
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1))
	} else {
		err = errors.Join(
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, ttl),
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1))
	}
	if err != nil {
		f.Close()
		return 0, nil, nil, fmt.Errorf("setsockopt TTL/RECVERR: %w", err)
	}
	// Close with RST once connected: the probe has no business holding a
	// connection open on the dependency.
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	return fd, f, sa, nil
}

// synProbe is one probe awaiting its answer: answered fills hop.
type synProbe struct {
	hop      *Hop
	addr     netip.Addr
	start    time.Time
	buf, oob [512]byte
}

// answered reads what the kernel knows of the probe without blocking and
// fills hop; it tells whether the probe has its answer.
func (p *synProbe) answered(fd int) bool {
	// The error queue first: it holds the ICMP message that explains
	// the failure, and it may be there while the connect still retries
	// (the kernel keeps the error soft when the socket was busy).
	if _, oobn, _, _, err := unix.Recvmsg(fd, p.buf[:], p.oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); err == nil {
		if ee, from, ok := parseErrQueue(p.oob[:oobn]); ok {
			p.hop.RTT = time.Since(p.start)
			p.hop.Addr = from
			p.hop.ICMPType, p.hop.ICMPCode = ee.Type, ee.Code
			p.hop.Kind = kindOf(ee)
			return true
		}
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return false
	}
	switch e := unix.Errno(soerr); {
	case soerr == 0:
		if _, err := unix.Getpeername(fd); err != nil {
			return false // still connecting
		}
		p.hop.Kind, p.hop.Addr, p.hop.RTT = Reached, p.addr, time.Since(p.start)
		return true
	case e == unix.ECONNREFUSED:
		// A RST to the SYN: the destination, or a device answering in
		// its name, is at most this many hops away.
		p.hop.Kind, p.hop.Addr, p.hop.RTT = Refused, p.addr, time.Since(p.start)
		return true
	case e == unix.EINPROGRESS || e == unix.EALREADY || e == unix.EINTR:
		return false
	default:
		// A hard error without a queued ICMP message (the error
		// queue was read above): keep waiting for it until ctx ends
		// rather than guess who answered.
		p.hop.errno = e
		return false
	}
}

// parseErrQueue reads the control messages of a MSG_ERRQUEUE read: one
// IP_RECVERR (or IPV6_RECVERR) message whose data is a sock_extended_err
// followed by the offender's sockaddr (SO_EE_OFFENDER). Only errors that came
// from the network (ICMP/ICMPv6) are accepted; local ones name no hop.
func parseErrQueue(oob []byte) (unix.SockExtendedErr, netip.Addr, bool) {
	var ee unix.SockExtendedErr
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return ee, netip.Addr{}, false
	}
	for _, m := range msgs {
		v4 := m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR
		v6 := m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if !v4 && !v6 || len(m.Data) < sizeofSockExtendedErr {
			continue
		}
		d := m.Data
		ee = unix.SockExtendedErr{
			Errno:  binary.NativeEndian.Uint32(d[0:4]),
			Origin: d[4],
			Type:   d[5],
			Code:   d[6],
			Pad:    d[7],
			Info:   binary.NativeEndian.Uint32(d[8:12]),
			Data:   binary.NativeEndian.Uint32(d[12:16]),
		}
		if ee.Origin != unix.SO_EE_ORIGIN_ICMP && ee.Origin != unix.SO_EE_ORIGIN_ICMP6 {
			continue
		}
		from, ok := parseOffender(d[sizeofSockExtendedErr:])
		if !ok {
			continue
		}
		return ee, from, true
	}
	return ee, netip.Addr{}, false
}

// parseOffender decodes the struct sockaddr_in / sockaddr_in6 that follows
// sock_extended_err. The family is in host order, the address in network
// order, as the kernel writes them.
func parseOffender(b []byte) (netip.Addr, bool) {
	if len(b) < 2 {
		return netip.Addr{}, false
	}
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		if len(b) < unix.SizeofSockaddrInet4 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(b[4:8])), true
	case unix.AF_INET6:
		if len(b) < unix.SizeofSockaddrInet6 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16([16]byte(b[8:24])).Unmap(), true
	}
	return netip.Addr{}, false
}

// kindOf names an ICMP error for the report.
func kindOf(ee unix.SockExtendedErr) Kind {
	switch {
	case ee.Origin == unix.SO_EE_ORIGIN_ICMP && ee.Type == 11, // time exceeded
		ee.Origin == unix.SO_EE_ORIGIN_ICMP6 && ee.Type == 3:
		return TimeExceeded
	default:
		return Unreachable
	}
}

// sizeofSockExtendedErr is sizeof(struct sock_extended_err): five fields,
// 16 bytes on every Linux architecture.
const sizeofSockExtendedErr = 16
