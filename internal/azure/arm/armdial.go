package arm

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apimprobe/apimprobe/resolver"
)

// systemResolvConf is where Go's own resolver, which the Resource Manager
// client's dials use, finds the DNS servers it asks.
const systemResolvConf = "/etc/resolv.conf"

// Dialer dials Resource Manager (or the proxy on the way) as net.Dialer
// does, but words a name lookup that timed out the same way every time. Go's
// resolver names the server it last asked when its own try timed out
// ("lookup management.azure.com on 10.0.0.4:53: i/o timeout") and none when
// the dial's deadline came first ("lookup management.azure.com: i/o
// timeout"); both end at the same instant, so which one a run printed was a
// race. The lookup timed out at the servers the VM asks: those are named.
type Dialer struct {
	// Dial makes the connection (net.Dialer's DialContext).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Servers lists the DNS servers Go's resolver asks, as IP:PORT.
	Servers func() []string
}

// NewDialer is a Dialer whose connections must be made within timeout.
func NewDialer(timeout time.Duration) *Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &Dialer{Dial: d.DialContext, Servers: sync.OnceValue(func() []string { return systemNameservers(systemResolvConf) })}
}

// DialContext dials as net.Dialer does; a lookup that timed out names the
// servers the VM asks.
func (a *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := a.Dial(ctx, network, addr)
	var de *net.DNSError
	if err == nil || !errors.As(err, &de) || !de.IsTimeout {
		return c, err
	}
	stable := *de
	stable.Server = strings.Join(a.Servers(), ", ")
	var oe *net.OpError
	if errors.As(err, &oe) {
		o := *oe
		o.Err = &stable
		return nil, &o
	}
	return nil, &stable
}

// systemNameservers are the servers Go's resolver asks: those of the file
// (at most three, as glibc), else its defaults.
func systemNameservers(path string) []string {
	rc, err := resolver.LoadResolvConf(path)
	if err != nil || len(rc.Servers) == 0 {
		return []string{"127.0.0.1:53", "[::1]:53"}
	}
	out := make([]string, len(rc.Servers))
	for i, s := range rc.Servers {
		out[i] = s.String()
	}
	return out
}
