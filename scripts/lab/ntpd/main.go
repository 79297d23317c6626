// Command ntpd is the lab's stand-in for Azure's time servers: a minimal NTP
// server (RFC 5905 mode 4 answers to mode 3 requests) that binds UDP 123 on
// every address of the lab's hosts file, so that each host name answers
// from its own address, as a connected client socket requires. It reads
// the clock and never sets it. scripts/lab/lab builds and starts it inside
// the lab's "Azure" namespace.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	hosts := flag.String("hosts", "", `the lab's hosts file ("IP NAME" lines): UDP 123 is served on each IP`)
	port := flag.Int("port", 123, "UDP port")
	flag.Parse()
	addrs, err := readAddrs(*hosts)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range addrs {
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(a, fmt.Sprint(*port)))
		if err != nil {
			log.Fatal(err)
		}
		go serve(pc)
	}
	log.Printf("listening on UDP %d at %d addresses", *port, len(addrs))
	select {}
}

func readAddrs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 1 && net.ParseIP(fields[0]) != nil && !seen[fields[0]] {
			seen[fields[0]] = true
			out = append(out, fields[0])
		}
	}
	if len(out) == 0 && sc.Err() == nil {
		return nil, errors.New(path + ": no addresses")
	}
	return out, sc.Err()
}

// serve answers every client request on pc until pc is closed.
func serve(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out := answer(buf[:n], time.Now()); out != nil {
			pc.WriteTo(out, from)
		}
	}
}

// answer is a synchronised stratum-2 server's reply to req, or nil when req
// is not a client request.
func answer(req []byte, now time.Time) []byte {
	if len(req) < 48 || req[0]&7 != 3 {
		return nil
	}
	b := make([]byte, 48)
	vn := req[0] >> 3 & 7
	b[0] = 0<<6 | vn<<3 | 4 // no leap warning, the client's version, server
	b[1] = 2                // stratum
	b[2] = req[2]           // poll
	b[3] = 0xec             // precision, about 60 ns
	copy(b[12:16], net.IPv4(198, 19, 0, 123).To4())
	ts := ntpTime(now)
	binary.BigEndian.PutUint64(b[16:], ts-64<<32) // reference: a minute ago
	copy(b[24:32], req[40:48])                    // origin: the client's transmit
	binary.BigEndian.PutUint64(b[32:], ts)        // receive
	binary.BigEndian.PutUint64(b[40:], ts)        // transmit
	return b
}

func ntpTime(t time.Time) uint64 {
	return uint64(t.Unix()+2208988800)<<32 | uint64(t.Nanosecond())<<32/1e9
}
