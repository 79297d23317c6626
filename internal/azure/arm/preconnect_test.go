package arm

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// pipeDialer dials net.Pipe ends, counting the dials, holding each until
// gate is closed (nil: at once) and failing them with fail when set.
type pipeDialer struct {
	dials atomic.Int32
	gate  chan struct{}
	fail  error
	peers chan net.Conn // the far ends, in order
}

func (p *pipeDialer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	p.dials.Add(1)
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.fail != nil {
		return nil, p.fail
	}
	a, b := net.Pipe()
	p.peers <- b
	return a, nil
}

func newPipeDialer() (*pipeDialer, *Dialer) {
	p := &pipeDialer{peers: make(chan net.Conn, 8)}
	return p, &Dialer{Dial: p.dial, Servers: func() []string { return nil }}
}

// The first dial to the early address takes its connection; later dials,
// and dials elsewhere, dial.
func TestPreconnectFirstDialTakesIt(t *testing.T) {
	p, d := newPipeDialer()
	d.Preconnect(context.Background(), "tcp", "management.azure.com:443")
	d.Preconnect(context.Background(), "tcp", "management.azure.com:443") // one ahead, not two
	c, err := d.DialContext(context.Background(), "tcp", "management.azure.com:443")
	if err != nil || p.dials.Load() != 1 {
		t.Fatalf("first dial: %v, %d dials", err, p.dials.Load())
	}
	c.Close()
	for _, addr := range []string{"management.azure.com:443", "proxy.example:3128"} {
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := p.dials.Load(); n != 3 {
		t.Errorf("%d dials, want 3 (the early one and two of their own)", n)
	}
	d.Close() // nothing left to close
}

// An early dial that failed is the first dial's failure: the error it got,
// not a second try (a dropped SYN must not cost --timeout twice).
func TestPreconnectFailureIsTheDials(t *testing.T) {
	p, d := newPipeDialer()
	p.fail = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	d.Preconnect(context.Background(), "tcp", "management.azure.com:443")
	if _, err := d.DialContext(context.Background(), "tcp", "management.azure.com:443"); !errors.Is(err, p.fail) || !ConnectFailed(err) {
		t.Fatalf("got %v, want the early dial's error", err)
	}
	if n := p.dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

// A request that gives up while the early dial goes on gets its context's
// error; the connection, when made, is closed. So is one no request took.
func TestPreconnectGivenUpOrUnused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := newPipeDialer()
		p.gate = make(chan struct{})
		d.Preconnect(context.Background(), "tcp", "management.azure.com:443")
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := d.DialContext(ctx, "tcp", "management.azure.com:443")
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		close(p.gate)
		peer := <-p.peers
		if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("the abandoned early connection is still open: %v", err)
		}
	})
	p, d := newPipeDialer()
	d.Preconnect(context.Background(), "tcp", "management.azure.com:443")
	peer := <-p.peers
	d.Close()
	if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the unused early connection is still open: %v", err)
	}
}

// The early connection goes where net/http will dial: Resource Manager's
// host and port, or the proxy's.
func TestDialAddr(t *testing.T) {
	via := func(p string) func(*http.Request) (*url.URL, error) {
		return func(*http.Request) (*url.URL, error) { return url.Parse(p) }
	}
	none := func(*http.Request) (*url.URL, error) { return nil, nil }
	for _, tc := range []struct {
		endpoint string
		proxy    func(*http.Request) (*url.URL, error)
		want     string
	}{
		{"https://management.azure.com", nil, "management.azure.com:443"},
		{"https://management.azure.com:8443", none, "management.azure.com:8443"},
		{"https://management.azure.com", via("http://proxy.example:3128"), "proxy.example:3128"},
		{"https://management.azure.com", via("http://proxy.example"), "proxy.example:80"},
		{"https://management.azure.com", via("socks5://proxy.example"), ""},
		{"https://[2001:db8::1]", nil, "[2001:db8::1]:443"},
	} {
		if got := dialAddr(tc.endpoint, tc.proxy); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.endpoint, got, tc.want)
		}
	}
}
