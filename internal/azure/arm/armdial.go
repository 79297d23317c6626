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

	// early is the connection Preconnect started, for the first dial to
	// its address.
	mu    sync.Mutex
	early *earlyConn
}

// earlyConn is a connection dialled before any request needed it.
type earlyConn struct {
	network, addr string
	done          chan struct{} // closed when conn or err is set
	conn          net.Conn
	err           error
	taken         bool
}

// NewDialer is a Dialer whose connections must be made within timeout.
func NewDialer(timeout time.Duration) *Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &Dialer{Dial: d.DialContext, Servers: sync.OnceValue(func() []string { return systemNameservers(systemResolvConf) })}
}

// Preconnect starts dialling addr at once, within ctx, for the first
// DialContext to the same address to take (only one connection is made
// ahead). A run's first read waits for the token before it dials; under
// the probes' load the name lookup and TCP connect then took 50-100 ms in
// the lab, where made beside the token they take a few. The early dial is
// the dial that request would have made (same dialer, same timeout), so its
// failure is that dial's: the request gets its error, not a second try.
func (a *Dialer) Preconnect(ctx context.Context, network, addr string) {
	e := &earlyConn{network: network, addr: addr, done: make(chan struct{})}
	a.mu.Lock()
	if a.early != nil {
		a.mu.Unlock()
		return
	}
	a.early = e
	a.mu.Unlock()
	go func() {
		e.conn, e.err = a.dial(ctx, network, addr)
		close(e.done)
	}()
}

// takeEarly is the early connection to addr when no dial has taken it yet.
func (a *Dialer) takeEarly(network, addr string) *earlyConn {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.early
	if e == nil || e.taken || e.network != network || e.addr != addr {
		return nil
	}
	e.taken = true
	return e
}

// Close closes the early connection if no dial took it.
func (a *Dialer) Close() {
	a.mu.Lock()
	e := a.early
	untaken := e != nil && !e.taken
	if untaken {
		e.taken = true
	}
	a.mu.Unlock()
	if untaken {
		go e.discard()
	}
}

// discard closes the connection once the dial has ended.
func (e *earlyConn) discard() {
	<-e.done
	if e.conn != nil {
		e.conn.Close()
	}
}

// DialContext dials as net.Dialer does; a lookup that timed out names the
// servers the VM asks. The first dial to Preconnect's address takes its
// connection (or its error), waiting for it within ctx.
func (a *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if e := a.takeEarly(network, addr); e != nil {
		select {
		case <-e.done:
			return e.conn, e.err
		case <-ctx.Done():
			go e.discard()
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	}
	return a.dial(ctx, network, addr)
}

func (a *Dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
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
