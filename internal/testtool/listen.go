package testtool

import (
	"net"
	"net/netip"
	"testing"
)

// Serve accepts on ln until the test ends, handing each connection to
// handle on a goroutine of its own; a nil handle closes it at once.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if handle == nil {
				c.Close()
				continue
			}
			go handle(c)
		}
	}()
}

// Accepting is a loopback TCP port that accepts every connection and
// closes it: a destination that answers.
func Accepting(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, ln, nil)
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// Refusing is a loopback TCP port nothing listens on: the kernel answers a
// SYN with a RST, as a destination that refuses.
func Refusing(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}
