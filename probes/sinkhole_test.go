package probes

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// filterResolver is a DNS filter: every name resolves to its sinkhole. It is
// not a LoopbackAnswers resolver, as no real resolver is.
type filterResolver []string

func (f filterResolver) LookupHost(context.Context, string) ([]string, error) { return f, nil }

// A sinkhole answer (0.0.0.0, ::, loopback) is wrong-answer in phase resolve
// and is never dialled, even when something on this machine listens on the
// service's port (which dialling 0.0.0.0 would reach, and pass).
func TestSinkholeAnswerIsNeverDialled(t *testing.T) {
	ln, err := net.Listen("tcp", ":0") // every local address, v4 and v6
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Each accepted connection's far end, in the order the kernel queued
	// them.
	accepted := make(chan string, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	port := portOf(t, ln.Addr())
	kinds := map[string]func(Resolver) Probe{
		"tcp": func(r Resolver) Probe { return TCP{Host: "sql.example", Port: port, Resolver: r} },
		"tls": func(r Resolver) Probe { return TLS{Host: "sql.example", Port: port, Resolver: r} },
		"http": func(r Resolver) Probe {
			return HTTP{URL: "http://sql.example:" + strconv.Itoa(port) + "/", Resolver: r}
		},
		"https": func(r Resolver) Probe {
			return HTTP{URL: "https://sql.example:" + strconv.Itoa(port) + "/", Resolver: r}
		},
	}
	for _, answer := range [][]string{{"0.0.0.0"}, {"::"}, {"127.0.0.1"}, {"127.0.0.53"}, {"::1"}, {"::ffff:127.0.0.1"}, {"10.0.0.4", "0.0.0.0"}} {
		for kind, mk := range kinds {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			r := mk(filterResolver(answer)).Run(ctx)
			cancel()
			if r.Status != Fail || r.Reason != ReasonWrongAnswer || r.FailedPhase != PhaseResolve || r.Dialled != "" || r.Hint == "" {
				t.Errorf("%s, answer %v: got %s/%s/%s dialled %q hint %q: %s", kind, answer, r.Status, r.Reason, r.FailedPhase, r.Dialled, r.Hint, r.Message)
			}
		}
	}
	// A connection of the test's own, made now, is accepted after any the
	// probes made: every connection accepted before it is a probe's.
	sentinel, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer sentinel.Close()
	for far := range accepted {
		if far == sentinel.LocalAddr().String() {
			break
		}
		t.Errorf("a probe's connection from %s reached this machine's listener", far)
	}
	// The same listener, named by a resolver that stands for a loopback
	// network (the tests' own), is dialled: the check above is not a probe
	// that dials nothing.
	r := TCP{Host: "sql.example", Port: port, Resolver: mapResolver{"sql.example": {"127.0.0.1"}}}.Run(context.Background())
	if r.Status != Pass {
		t.Errorf("loopback network: %s %s", r.Status, r.Message)
	}
}
