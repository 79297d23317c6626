package main

import (
	"bufio"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// The banner comes first, with a line feed; then the server holds the
// connection, discarding what the client sends, and closes it when the
// hold has passed.
func TestBannerThenHoldThenClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, client := net.Pipe()
		defer client.Close()
		start := time.Now()
		go handle(server, "220 smtpi.lab.test ESMTP", time.Second)
		line, err := bufio.NewReader(client).ReadString('\n')
		if err != nil || line != "220 smtpi.lab.test ESMTP\n" {
			t.Fatalf("banner = %q, %v", line, err)
		}
		if _, err := io.WriteString(client, "EHLO probe\r\n"); err != nil {
			t.Fatalf("the server did not read what the client sent: %v", err)
		}
		if _, err := client.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("after the hold: %v, want EOF", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Fatalf("closed after %v, want the 1s hold", took)
		}
	})
}

// A client that closes first ends the connection at once, and a port
// without a banner sends nothing.
func TestClientClosesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, client := net.Pipe()
		done := make(chan struct{})
		start := time.Now()
		go func() { handle(server, "", time.Minute); close(done) }()
		client.Close()
		<-done
		if took := time.Since(start); took != 0 {
			t.Fatalf("held %v after the client closed", took)
		}
	})
}

// Over real loopback TCP: the listener serves one connection after
// another, and ends when it is closed.
func TestAcceptServesEachConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() { accept(ln, "220 x", time.Minute); close(ended) }()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "220 x\n" {
			t.Fatalf("banner = %q, %v", line, err)
		}
	}
	ln.Close()
	<-ended
}

func TestPortFlag(t *testing.T) {
	p := ports{}
	for _, ok := range []string{"1433", "25028=220 smtpi.lab.test ESMTP"} {
		if err := p.Set(ok); err != nil {
			t.Errorf("Set(%q): %v", ok, err)
		}
	}
	if p[1433] != "" || p[25028] != "220 smtpi.lab.test ESMTP" {
		t.Errorf("ports = %v", p)
	}
	for _, bad := range []string{"", "smtp", "0", "65536", "-1=x"} {
		if err := p.Set(bad); err == nil {
			t.Errorf("Set(%q) took it", bad)
		}
	}
}
