package arm

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

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

// Other failures are Go's own words, untouched: an NXDOMAIN names the
// server that said it.
func TestARMDialOtherErrorsUntouched(t *testing.T) {
	nx := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "management.azure.com", Server: "198.18.2.54:53", IsNotFound: true}}
	d := &Dialer{
		Dial:    func(context.Context, string, string) (net.Conn, error) { return nil, nx },
		Servers: func() []string { return []string{"198.18.2.53:53"} },
	}
	if _, err := d.DialContext(context.Background(), "tcp", "management.azure.com:443"); !errors.Is(err, nx) {
		t.Errorf("got %v, want Go's own error", err)
	}
}
