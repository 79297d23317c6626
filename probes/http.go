package probes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// HTTPExpect judges an answer. It returns nil when the answer is the expected
// one (a generic pass), or the result the check reports instead: usually a
// failed one (reason http-status or http-body), but any status, so that a
// check whose verdict lies in the body (what it says, not that it came) can
// give its own pass, warn or skip. The probe's phases and addresses are set
// on it and its evidence is merged in, the judge's keys winning.
type HTTPExpect func(status int, header http.Header, body []byte) *Result

// HTTP makes one request (GET unless Method says otherwise) to URL, dialling
// the address the Resolver gives, and judges the answer with Expect. Phase
// timings come from httptrace; the body read is capped; redirects are bounded;
// proxies from the environment are not used, since API Management does not
// use them either.
type HTTP struct {
	URL        string
	Method     string
	Header     http.Header
	Resolver   Resolver
	RootCAs    *x509.CertPool
	AzureRoots *x509.CertPool
	// InterceptIsWarn reports interception as warn (optional dependencies).
	InterceptIsWarn bool
	Expect          HTTPExpect
	// MaxBody caps how much of the body is read (default 64 KiB).
	MaxBody int64
	// MaxRedirects bounds redirects followed (default 3). Negative follows
	// none: the redirect answer itself goes to Expect, for a check that must
	// not be sent elsewhere (say, from https to plain http).
	MaxRedirects int
}

var _ Probe = HTTP{}

// httpRun gathers what one request saw. Hooks run on transport goroutines.
type httpRun struct {
	mu                     sync.Mutex
	res                    Result
	connectStart, tlsStart time.Time
	connected, tlsDone     bool
	tlsStarted             bool
	verify                 *verification
	// redirectLookup is the failed lookup of a redirect's host: its own
	// reason and phase (resolve), not an HTTP error rebuilt from text.
	redirectLookup *Result
	// resolving is a redirect's host while its lookup is under way: a check
	// that ends meanwhile ended in name resolution.
	resolving string
	// conn counts what the server sent on the connection last dialled.
	conn *countingConn
	// finished: the request has returned; hooks that fire later (a
	// handshake the transport completes after a cut) record nothing.
	finished bool
}

func (p HTTP) Run(ctx context.Context) Result {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Failf(ReasonError, PhaseHTTP, fmt.Sprintf("bad URL %q", Untrusted(p.URL, 0)))
	}
	run := &httpRun{}
	maxBody := p.MaxBody
	if maxBody <= 0 {
		maxBody = 64 << 10
	}

	// Resolve the first host up front so a DNS failure is phase resolve.
	if !resolve(ctx, p.Resolver, u.Hostname(), &run.res) {
		return run.res
	}
	transport := run.transport(p, u.Hostname(), run.res.Addresses)
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, CheckRedirect: p.checkRedirect}

	start := time.Now()
	req, err := p.request(httptrace.WithClientTrace(ctx, run.trace(start)))
	if err != nil {
		return Failf(ReasonError, PhaseHTTP, ErrorText(err))
	}
	resp, err := client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
	if err == nil && ctx.Err() != nil {
		// Cancelling closes the connection, and a server whose handler
		// ends when its client hangs up may answer in that instant; the
		// transport can still hand that answer over. It was caused by the
		// cancel, so the cancel is what the check reports.
		err = context.Cause(ctx)
	}

	run.mu.Lock()
	defer run.mu.Unlock()
	run.finished = true
	res := run.res
	res.Phases = maps.Clone(res.Phases)
	if run.verify != nil {
		res.Cert = run.verify.cert
	}
	if err != nil {
		return run.failure(ctx, res, err, u.Hostname(), time.Since(start))
	}
	return run.answered(p, res, resp, body, start)
}

// checkRedirect follows at most MaxRedirects redirects (3 when 0; none,
// the redirect being the answer, when negative).
func (p HTTP) checkRedirect(req *http.Request, via []*http.Request) error {
	maxRedirects := p.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = 3
	}
	if maxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// request is the check's request: its method (GET by default) and
// headers, as apimprobe.
func (p HTTP) request(ctx context.Context) (*http.Request, error) {
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "apimprobe")
	for k, vs := range p.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req, nil
}

// transport dials the first host's addresses as resolved (a redirect's
// host is resolved when it is dialled, its failure kept as its own),
// counts what the server sends, and verifies the chain against the trust
// store and Azure's roots.
func (run *httpRun) transport(p HTTP, firstHost string, firstAddrs []string) *http.Transport {
	return &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			addrs := firstAddrs
			if host != firstHost { // a redirect to another host
				var r Result
				run.mu.Lock()
				run.resolving = host
				run.mu.Unlock()
				ok := resolve(ctx, p.Resolver, host, &r)
				run.mu.Lock()
				run.resolving = ""
				if !ok {
					run.redirectLookup = &r
				}
				run.mu.Unlock()
				if !ok {
					return nil, errRedirectLookup
				}
				addrs = r.Addresses
			}
			target := net.JoinHostPort(addrs[0], port)
			run.mu.Lock()
			run.res.Dialled = target
			run.mu.Unlock()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", target)
			if err != nil {
				return nil, err
			}
			counted := &countingConn{Conn: c}
			run.mu.Lock()
			if !run.finished {
				run.conn = counted
			}
			run.mu.Unlock()
			return counted, nil
		},
		TLSClientConfig: withVerify(clientHello(), func(cs tls.ConnectionState) error {
			v := verifyChain(cs, cs.ServerName, p.RootCAs, p.AzureRoots)
			run.mu.Lock()
			if !run.finished {
				run.verify = &v
			}
			run.mu.Unlock()
			return v.err
		}),
	}
}

// trace records each phase's time (connect, TLS, first byte from start)
// and whether connect and the handshake succeeded, until the request has
// returned.
func (run *httpRun) trace(start time.Time) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectStart: func(_, _ string) {
			run.mu.Lock()
			if !run.finished {
				run.connectStart = time.Now()
			}
			run.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			run.mu.Lock()
			if !run.finished {
				run.res.phase("connect_ms", time.Since(run.connectStart))
				run.connected = err == nil
			}
			run.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			run.mu.Lock()
			if !run.finished {
				run.tlsStart, run.tlsStarted = time.Now(), true
			}
			run.mu.Unlock()
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			run.mu.Lock()
			if !run.finished {
				run.res.phase("tls_ms", time.Since(run.tlsStart))
				run.tlsDone = err == nil
			}
			run.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			run.mu.Lock()
			if !run.finished {
				run.res.phase("ttfb_ms", time.Since(start))
			}
			run.mu.Unlock()
		},
	}
}

// answered judges a response: an intercepted chain first, then the
// check's own expectation of the answer, else any answer passes.
func (run *httpRun) answered(p HTTP, res Result, resp *http.Response, body []byte, start time.Time) Result {
	res.evidence()["http_status"] = resp.StatusCode
	if resp.Request != nil && resp.Request.URL.String() != p.URL {
		res.evidence()["final_url"] = URLTarget(resp.Request.URL.String()).URL
	}
	if run.verify != nil && run.verify.intercepted {
		return intercepted(res, *run.verify, p.InterceptIsWarn)
	}
	if p.Expect != nil {
		if judged := p.Expect(resp.StatusCode, resp.Header, body); judged != nil {
			out := *judged
			out.Phases, out.Addresses, out.Dialled, out.Cert = res.Phases, res.Addresses, res.Dialled, res.Cert
			for k, v := range out.Evidence {
				res.evidence()[k] = v
			}
			out.Evidence = res.Evidence
			if out.FailedPhase == PhaseNone && (out.Status == Fail || out.Status == Warn) {
				out.FailedPhase = PhaseHTTP
			}
			return out
		}
	}
	return passWith(res, fmt.Sprintf("HTTP %d from %s in %dms", resp.StatusCode, res.Dialled, time.Since(start).Milliseconds()))
}

// errRedirectLookup stands for a redirect's failed lookup, whose result the
// probe reports as it is.
var errRedirectLookup = errors.New("the redirect's host name did not resolve")

// failure places an HTTP error in the phase it happened in.
func (run *httpRun) failure(ctx context.Context, res Result, err error, host string, took time.Duration) Result {
	reason, msg := Classify(ctx, err)
	dialled := res.Dialled
	switch {
	case run.redirectLookup != nil && reason != ReasonDeadline:
		r := *run.redirectLookup
		return mergeFail(res, r.Reason, PhaseResolve, "redirected to a host that does not resolve: "+r.Message)
	case run.resolving != "" && reason == ReasonTimeout:
		return mergeFail(res, ReasonDNSTimeout, PhaseResolve, fmt.Sprintf("redirected to %s, whose name got no DNS answer within %s", run.resolving, roundMS(took)))
	case reason == ReasonDeadline:
		return mergeFail(res, reason, phaseOf(run), msg)
	case !run.connected:
		if reason == ReasonTimeout && dialled == "" {
			msg = fmt.Sprintf("the check's limit ran out after %s, before a TCP connection was tried", roundMS(took))
		} else if reason == ReasonTimeout {
			msg = fmt.Sprintf("no answer to TCP SYN to %s within %s (a silent drop: NSG, firewall or route)", dialled, roundMS(took))
		} else if dialled != "" {
			msg = fmt.Sprintf("TCP connect to %s: %s", dialled, msg)
		}
		return mergeFail(res, reason, PhaseConnect, msg)
	case run.tlsStarted && !run.tlsDone:
		if run.verify != nil && run.verify.err != nil {
			return mergeFail(res, reason, PhaseTLS, msg)
		}
		var got int64
		if run.conn != nil {
			got = run.conn.read.Load()
		}
		return handshakeFailure(ctx, res, err, host, took, got)
	}
	if reason == ReasonTimeout {
		msg = fmt.Sprintf("the HTTP answer did not complete within %s (a stalled or trickling server)", roundMS(took))
	}
	if reason == ReasonError {
		reason = ReasonHTTPStatus
		msg = "HTTP exchange failed: " + ErrorText(err)
	}
	return mergeFail(res, reason, PhaseHTTP, msg)
}

func phaseOf(run *httpRun) Phase {
	switch {
	case !run.connected:
		return PhaseConnect
	case run.tlsStarted && !run.tlsDone:
		return PhaseTLS
	}
	return PhaseHTTP
}

// ExpectStatus accepts the listed status codes.
func ExpectStatus(codes ...int) HTTPExpect {
	return func(status int, _ http.Header, _ []byte) *Result {
		for _, c := range codes {
			if status == c {
				return nil
			}
		}
		r := Failf(ReasonHTTPStatus, PhaseHTTP, fmt.Sprintf("HTTP %d, expected %s", status, codesText(codes)))
		return &r
	}
}

func codesText(codes []int) string {
	s := ""
	for i, c := range codes {
		if i > 0 {
			s += " or "
		}
		s += strconv.Itoa(c)
	}
	return s
}
