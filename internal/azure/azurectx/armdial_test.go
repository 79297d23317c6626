package azurectx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
		d := &armDialer{
			dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: v}
			},
			servers: func() []string { return []string{"198.18.2.53:53"} },
		}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		_, err := client.Get("https://management.azure.com/subscriptions")
		if err == nil {
			t.Fatal("the request went through")
		}
		r := &Read{}
		(&armSession{o: &Options{ConnectTimeout: time.Second}}).settle(context.Background(), r, time.Now(), err)
		if r.Status != ReadUnreachable {
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

// Other failures are Go's own words, untouched: an NXDOMAIN names the
// server that said it.
func TestARMDialOtherErrorsUntouched(t *testing.T) {
	nx := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "management.azure.com", Server: "198.18.2.54:53", IsNotFound: true}}
	d := &armDialer{
		dial:    func(context.Context, string, string) (net.Conn, error) { return nil, nx },
		servers: func() []string { return []string{"198.18.2.53:53"} },
	}
	if _, err := d.DialContext(context.Background(), "tcp", "management.azure.com:443"); !errors.Is(err, nx) {
		t.Errorf("got %v, want Go's own error", err)
	}
}

func TestSystemNameservers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 198.18.2.53\nnameserver 198.18.2.54\noptions timeout:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := systemNameservers(p); !slices.Equal(got, []string{"198.18.2.53:53", "198.18.2.54:53"}) {
		t.Errorf("servers %v", got)
	}
	if got := strings.Join(systemNameservers(filepath.Join(t.TempDir(), "none")), ", "); got != "127.0.0.1:53, [::1]:53" {
		t.Errorf("no file: %s, want Go's defaults", got)
	}
}
