package discover

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// Go's resolver words a lookup that timed out in one of two ways, whichever
// of its own try and the dial's deadline ended first: with the server it
// asked, or without. Both must give one read message, naming the servers
// the VM asks.
func TestARMDialLookupTimeoutWordedOneWay(t *testing.T) {
	variants := []error{
		&net.DNSError{Err: "i/o timeout", Name: "management.azure.com", Server: "198.18.2.53:53", IsTimeout: true, IsTemporary: true},
		&net.DNSError{Err: "i/o timeout", Name: "management.azure.com", IsTimeout: true},
	}
	var msgs []string
	for _, v := range variants {
		d := &arm.Dialer{
			Dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: v}
			},
			Servers: func() []string { return []string{"198.18.2.53:53"} },
		}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		_, err := client.Get("https://management.azure.com/subscriptions")
		if err == nil {
			t.Fatal("the request went through")
		}
		r := &snapshot.Read{}
		(&armSession{o: &Options{ConnectTimeout: time.Second}}).settle(context.Background(), r, time.Now(), err)
		if r.Status != snapshot.ReadUnreachable {
			t.Fatalf("%v: read %s %q", v, r.Status, r.Message)
		}
		msgs = append(msgs, r.Message)
	}
	want := "got no answer from Resource Manager (dns-timeout): no DNS answer for management.azure.com (DNS server 198.18.2.53:53)"
	for _, m := range msgs {
		if m != want {
			t.Errorf("message %q, want %q", m, want)
		}
	}
}
