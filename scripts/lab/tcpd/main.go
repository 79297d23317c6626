// Command tcpd is the lab's stand-in for Azure's plain-TCP endpoints (SQL
// 1433, KMS 1688, SMB 445, Event Hubs AMQP 5672, the SMTP relay): it accepts
// on each port given, writes the port's banner if it has one, and holds the
// connection, reading and discarding what the client sends, until the
// client closes it or the hold has passed. scripts/lab/lab builds and starts
// it inside the lab's "Azure" namespace; one process serves every
// connection, where a forking server would start processes per connection
// on the cores the probes run on.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"time"
)

// ports is the -port flag, repeatable: PORT or PORT=BANNER.
type ports map[int]string

func (p ports) String() string { return fmt.Sprint(map[int]string(p)) }

func (p ports) Set(s string) error {
	num, banner, _ := strings.Cut(s, "=")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: not a TCP port", num)
	}
	p[n] = banner
	return nil
}

func main() {
	serve := ports{}
	flag.Var(serve, "port", "a TCP port to serve, PORT or PORT=BANNER (the banner is sent on connect, with a line feed); repeatable")
	hold := flag.Duration("hold", time.Second, "how long a connection is held before the server closes it")
	flag.Parse()
	if len(serve) == 0 {
		log.Fatal("no -port given")
	}
	for port, banner := range serve {
		ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
		if err != nil {
			log.Fatal(err)
		}
		go accept(ln, banner, *hold)
	}
	log.Printf("listening on TCP %d ports", len(serve))
	select {}
}

// accept serves every connection ln accepts until ln is closed.
func accept(ln net.Listener, banner string, hold time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go handle(c, banner, hold)
	}
}

// handle writes the banner, then reads until the client closes or the hold
// has passed, and closes.
func handle(c net.Conn, banner string, hold time.Duration) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(hold))
	if banner != "" {
		if _, err := io.WriteString(c, banner+"\n"); err != nil {
			return
		}
	}
	io.Copy(io.Discard, c)
}
