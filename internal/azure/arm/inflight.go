package arm

import (
	"net/http"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// MaxInFlight bounds the requests a session has in flight at once. The
// reads start as soon as what each needs is known (discover), and up to a
// dozen could be asked together; over HTTP/1.1 (a proxy, a server without
// HTTP/2) each would take a connection and a TLS handshake of its own. A
// run's reads come in about three waves of at most 9 (the instance's four
// lists, the NIC, its two effective views, the subnet and its
// permissions), so a bound of 8 costs them at most a short wait.
const MaxInFlight = 8

// LimitInFlight makes every client built with co wait for one of
// MaxInFlight slots before each request (each try, each poll of a
// long-running read: none holds a slot while it waits to try again). A
// request whose context ends while it waits fails with the context's
// error, as one cut in flight does.
func LimitInFlight(co *azarm.ClientOptions) {
	co.Transport = &limitedTransport{next: co.Transport, slots: make(chan struct{}, MaxInFlight)}
}

// limitedTransport lets at most cap(slots) requests through at once; a
// slot is freed when the answer's headers are in (azcore reads the body
// at once, above the transport).
type limitedTransport struct {
	next  policy.Transporter
	slots chan struct{}
}

func (t *limitedTransport) Do(req *http.Request) (*http.Response, error) {
	select {
	case t.slots <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-t.slots }()
	next := t.next
	if next == nil {
		next = http.DefaultClient
	}
	return next.Do(req)
}
