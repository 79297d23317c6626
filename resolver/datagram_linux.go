//go:build linux

package resolver

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// datagramSize waits for the next datagram on c (within c's deadline) and
// returns its size without taking it from the socket (recv with MSG_PEEK
// and MSG_TRUNC, which Linux answers with the datagram's whole length).
// Where that cannot be asked, it is maxUDPRead.
func datagramSize(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return maxUDPRead, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return maxUDPRead, nil
	}
	var (
		n    int
		rerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		// As a read would fail: refused (ICMP port unreachable) and the
		// like, which the package classifies.
		return 0, &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("recvfrom", rerr)}
	}
	return min(n, maxUDPRead), nil
}
