package arm

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/apimprobe/apimprobe/internal/azure/imds"
)

// Every Resource Manager answer is bounded while it is read, not after:
// azcore reads a whole body into memory before anything of ours sees it,
// and Go's transport inflates a gzip body as it likes (2 MB on the wire
// made 2 GiB). The bound sits below azcore, in the transport: at most
// MaxBody bytes on the wire, and at most MaxBody once inflated, per
// answer. gzip is asked for and inflated here, so that both are counted.
// A longer answer ends the read as malformed, without a retry.

// MaxBody bounds one Resource Manager answer, on the wire and inflated
// (the service tag list, the largest, is about 4 MB).
const MaxBody = 16 << 20

// BoundBodies makes every client built with co read bounded answers.
func BoundBodies(co *azarm.ClientOptions) {
	co.Transport = &boundedTransport{next: co.Transport, limit: MaxBody}
}

// boundedTransport is a policy.Transporter whose answers' bodies stop at
// limit bytes, compressed and inflated.
type boundedTransport struct {
	next  policy.Transporter
	limit int64
}

func (t *boundedTransport) Do(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultClient
	}
	resp, err := next.Do(gzipAsked(req))
	if err != nil || resp == nil {
		return resp, err
	}
	boundBody(resp, t.limit)
	return resp, nil
}

// boundedRoundTripper is the same bound for an http.Client's transport.
type boundedRoundTripper struct {
	next  http.RoundTripper
	limit int64
}

func (t *boundedRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(gzipAsked(req))
	if err != nil || resp == nil {
		return resp, err
	}
	boundBody(resp, t.limit)
	return resp, nil
}

// gzipAsked asks for gzip itself when nothing else is asked (Go's
// transport would otherwise inflate out of our sight).
func gzipAsked(req *http.Request) *http.Request {
	if req.Header.Get("Accept-Encoding") != "" {
		return req
	}
	r := req.Clone(req.Context())
	r.Header.Set("Accept-Encoding", "gzip")
	return r
}

// boundBody replaces resp's body with one that fails past limit bytes on
// the wire and, for gzip, past limit bytes inflated.
func boundBody(resp *http.Response, limit int64) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	wire := &capReader{r: resp.Body, left: limit, limit: limit, what: "on the wire"}
	if !strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		resp.Body = &cappedBody{Reader: wire, c: resp.Body}
		return
	}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength, resp.Uncompressed = -1, true
	resp.Body = &cappedBody{Reader: &inflater{wire: wire, limit: limit}, c: resp.Body}
}

// cappedBody reads the bounded reader and closes the original body.
type cappedBody struct {
	io.Reader
	c io.Closer
}

func (b *cappedBody) Close() error { return b.c.Close() }

// inflater inflates a gzip body, at most limit bytes; its gzip reader is
// made at the first read (making it reads the header).
type inflater struct {
	wire  io.Reader
	limit int64
	r     io.Reader
	err   error
}

func (f *inflater) Read(p []byte) (int, error) {
	if f.r == nil && f.err == nil {
		zr, err := gzip.NewReader(f.wire)
		if err != nil {
			f.err = bodyError(err, "its gzip header does not read")
		} else {
			f.r = &capReader{r: zr, left: f.limit, limit: f.limit, what: "inflated"}
		}
	}
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		err = bodyError(err, "its gzip body does not inflate")
	}
	return n, err
}

// bodyError keeps a cap's own error; any other one from inflating is a
// malformed answer, unless the connection itself failed.
func bodyError(err error, words string) error {
	var me *MalformedError
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.HasPrefix(err.Error(), "flate: ") {
		return &MalformedError{"Resource Manager's answer is not gzip: " + words}
	}
	return err
}

// capReader reads at most limit bytes of r; one more is an error.
type capReader struct {
	r           io.Reader
	left, limit int64
	what        string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, &MalformedError{fmt.Sprintf("the answer is larger than %d MiB %s, the bound of one answer: not read further", c.limit>>20, c.what)}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// NonRetriable: a malformed or oversized answer is not asked for again
// (azcore's retry policy would read it three times).
func (e *MalformedError) NonRetriable() {}

// MalformedError is an answer that does not hold what it must, or holds
// more than it may.
type MalformedError struct{ msg string }

func (e *MalformedError) Error() string { return e.msg }

// Malformed is a MalformedError saying msg.
func Malformed(msg string) error { return &MalformedError{msg} }

// IdentityClient carries azidentity's chain (--arm-credential default): its
// managed identity goes straight to the metadata service, as imds.Client
// does, while Entra's token requests follow the environment's proxy; no
// redirect is followed, and an answer is bounded like the metadata
// service's.
func IdentityClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == imds.Host {
			return nil, nil
		}
		return http.ProxyFromEnvironment(r)
	}
	return &http.Client{Transport: &boundedRoundTripper{next: t, limit: imds.MaxBody}, CheckRedirect: imds.RefuseRedirect}
}
