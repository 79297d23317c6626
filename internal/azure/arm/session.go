package arm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/probes"
)

// Session is one run's Resource Manager session: the credential, the
// pipeline every request goes through (the token, the guard that keeps it
// on Resource Manager, bounded answers, retries), and the endpoint and
// subscription the reads are made in.
type Session struct {
	cred     azcore.TokenCredential
	clientOp *azarm.ClientOptions
	pipeline runtime.Pipeline
	endpoint string
	sub      string
	// audience is the cloud's Resource Manager token audience, for the fix
	// of a token Resource Manager refuses.
	audience string
	// transport carries the reads; Close drops its idle connections once
	// they are done, so that nothing of a run stays open after it.
	transport policy.Transporter
	// dialer and proxy are those of the session's own client (nil when
	// one was given), for Preconnect.
	dialer *Dialer
	proxy  func(*http.Request) (*url.URL, error)
}

// SessionOf is a session over a pipeline built elsewhere (tests).
func SessionOf(endpoint, sub string, pl runtime.Pipeline, cred azcore.TokenCredential, co *azarm.ClientOptions) *Session {
	return &Session{cred: cred, clientOp: co, pipeline: pl, endpoint: endpoint, sub: sub}
}

// Endpoint is Resource Manager's URL, without a trailing slash.
func (s *Session) Endpoint() string { return s.endpoint }

// Subscription is the subscription the reads are made in (this VM's).
func (s *Session) Subscription() string { return s.sub }

// Audience is the cloud's Resource Manager token audience.
func (s *Session) Audience() string { return s.audience }

// Pipeline carries a request with the session's token, guard and bounds.
func (s *Session) Pipeline() runtime.Pipeline { return s.pipeline }

// Cred and ClientOptions build an armnetwork client on the session.
func (s *Session) Cred() azcore.TokenCredential { return s.cred }

// ClientOptions are the session's, for an armnetwork client.
func (s *Session) ClientOptions() *azarm.ClientOptions { return s.clientOp }

// MaxReadWait bounds the reads when the caller's context has no deadline
// (tests, embedding): other tools wait 60 s for the long-running reads.
const MaxReadWait = 60 * time.Second

// NewSession builds the pipeline for cred in the cloud cc: a throttled
// request is retried after its Retry-After only when that ends before
// ctx's deadline; transport carries the requests (nil: a client of the
// session's own, its connections made within connectTimeout).
func NewSession(ctx context.Context, cred azcore.TokenCredential, cc cloud.Configuration, transport policy.Transporter, connectTimeout time.Duration, sub string) (*Session, error) {
	rm := cc.Services[cloud.ResourceManager]
	// A throttled request is retried after its Retry-After only when that
	// ends before the reads' deadline; otherwise the 429 is reported at
	// once, with its Retry-After, and the configured view takes over.
	retryCap := MaxReadWait
	if dl, ok := ctx.Deadline(); ok {
		retryCap = max(time.Until(dl)-time.Second, 0)
	}
	// A client of the run's own (unless one is given), so that its idle
	// connections can be closed when the reads are done.
	var dialer *Dialer
	var proxy func(*http.Request) (*url.URL, error)
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		dialer = NewDialer(connectTimeout)
		t.DialContext = dialer.DialContext
		t.TLSHandshakeTimeout = connectTimeout
		proxy = t.Proxy
		transport = &http.Client{Transport: t}
	}
	clientOpts := &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud:     cc,
			Transport: transport,
			Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: retryCap,
				ShouldRetry: shouldRetry},
			Telemetry: policy.TelemetryOptions{Disabled: true},
		},
		DisableRPRegistration: true,
	}
	Guard(clientOpts, rm.Endpoint)
	BoundBodies(clientOpts)
	LimitInFlight(clientOpts)
	pl, err := armruntime.NewPipeline("apimprobe", "v1", cred, runtime.PipelineOptions{}, clientOpts)
	if err != nil {
		return nil, err
	}
	return &Session{cred: cred, clientOp: clientOpts, pipeline: pl, endpoint: strings.TrimRight(rm.Endpoint, "/"), audience: rm.Audience,
		sub: sub, transport: transport, dialer: dialer, proxy: proxy}, nil
}

// Preconnect starts the session's first connection now, within ctx: to
// Resource Manager, or to the proxy its requests go through (the address
// the transport will dial; Dialer.Preconnect). Nothing is sent on it
// until the first request takes it. A session on a client it was given
// makes none.
func (s *Session) Preconnect(ctx context.Context) {
	if s.dialer == nil {
		return
	}
	if addr := dialAddr(s.endpoint, s.proxy); addr != "" {
		s.dialer.Preconnect(ctx, "tcp", addr)
	}
}

// dialAddr is the host:port net/http dials for a request to endpoint:
// the proxy's when proxy names one, else the endpoint's; "" when it cannot
// tell.
func dialAddr(endpoint string, proxy func(*http.Request) (*url.URL, error)) string {
	req, err := http.NewRequest(http.MethodGet, endpoint+"/", nil)
	if err != nil {
		return ""
	}
	u := req.URL
	if proxy != nil {
		p, err := proxy(req)
		if err != nil {
			return ""
		}
		if p != nil {
			u = p
		}
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		default:
			return "" // socks5 and others: the transport's own business
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// FirstToken gets a token for the cloud's Resource Manager within ctx: the
// credential is tried before any read. It asks as the session's pipeline
// does (azcore's arm pipeline: the audience and "/.default", continuous
// access evaluation on), so that a credential CacheTokens wrapped hands
// the reads this very token.
func FirstToken(ctx context.Context, cred azcore.TokenCredential, cc cloud.Configuration) error {
	_, err := cred.GetToken(ctx, tokenRequest(cc))
	return err
}

// tokenRequest is the request azcore's arm pipeline makes for cc's
// Resource Manager.
func tokenRequest(cc cloud.Configuration) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{cc.Services[cloud.ResourceManager].Audience + "/.default"}, EnableCAE: true}
}

// EndpointWords is Resource Manager's host and port in words
// ("management.azure.com on TCP 443"), "" when the URL names no host.
func EndpointWords(cc cloud.Configuration) string {
	if u, err := url.Parse(cc.Services[cloud.ResourceManager].Endpoint); err == nil && u.Hostname() != "" {
		return u.Hostname() + " on TCP " + cmp.Or(u.Port(), "443")
	}
	return ""
}

// Close ends what the session keeps open: its idle connections, and the
// early one when no request took it.
func (s *Session) Close() {
	if s.dialer != nil {
		s.dialer.Close()
	}
	if c, ok := s.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// CredentialConfig names the credential to use.
type CredentialConfig struct {
	// Given, when set, is used instead of building one (tests, embedding).
	Given azcore.TokenCredential
	// Kind is one of the credential kinds.
	Kind string
	// IMDSEndpoint and ClientID are the managed identity's metadata
	// service and user-assigned identity.
	IMDSEndpoint, ClientID string
}

// NewCredential returns the credential and its name for the report.
func NewCredential(c CredentialConfig, cc cloud.Configuration) (azcore.TokenCredential, string, error) {
	if c.Given != nil {
		return c.Given, c.Kind, nil
	}
	co := azcore.ClientOptions{Cloud: cc}
	switch c.Kind {
	case probes.CredAzureCLI:
		cred, err := azidentity.NewAzureCLICredential(nil)
		return cred, probes.CredAzureCLI, err
	case probes.CredDefault:
		// The chain's managed identity and Entra requests: no redirect.
		co.Transport = IdentityClient()
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co})
		return cred, probes.CredDefault, err
	}
	// The metadata service's token, through the same client as the
	// instance document: --imds-endpoint honoured, no proxy, no redirect,
	// a bounded body, and no error body in any message.
	return &imds.TokenCredential{Endpoint: c.IMDSEndpoint, ClientID: c.ClientID}, probes.CredManagedIdentity, nil
}

// shouldRetry is azcore's own choice (its status codes, any error) but for
// a connection that timed out: TCP retransmitted its SYN within the check
// limit already, and two more tries would triple the wait for a drop.
func shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		var ne net.Error
		return !(ConnectFailed(err) && errors.As(err, &ne) && ne.Timeout())
	}
	return runtime.HasStatusCode(resp, http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout)
}

// NoAnswer words what a read got instead of an HTTP answer: the wire's reason, and
// whether it was the proxy this VM's environment names (HTTPS_PROXY, which
// Resource Manager's requests follow as az's do) that did not answer.
func NoAnswer(reason probes.Reason, words string, err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "proxyconnect" {
		words = "the proxy that HTTPS_PROXY names did not answer: " + words
	}
	return "no answer from Resource Manager (" + string(reason) + "): " + bounded.Line(words)
}

// ConnectFailed reports whether err is a connection to Resource Manager
// (or to the proxy on the way) that was never made: TCP (refused, dropped,
// no route) or the TLS handshake (net/http's own timeout for it).
func ConnectFailed(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "proxyconnect") {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && strings.Contains(err.Error(), "TLS handshake timeout")
}

// GetJSON does a plain GET of an ARM resource through the SDK's pipeline
// (bearer token, retries) and decodes it into v.
func (s *Session) GetJSON(ctx context.Context, path, apiVersion string, v any) error {
	// A path of ours, or a nextLink, which must stay on Resource Manager.
	u, err := URL(s.endpoint, path, "a nextLink or resource id")
	if err != nil {
		return err
	}
	if !strings.Contains(u, "api-version=") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "api-version=" + apiVersion
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	resp, err := s.pipeline.Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return runtime.NewResponseError(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return err
	}
	if len(body) > MaxBody {
		return Malformed(fmt.Sprintf("answer larger than %d bytes", MaxBody))
	}
	return json.Unmarshal(body, v)
}

// ServiceTags reads the region's service tag list and decodes it as it
// arrives. The public cloud's list is about 4 MB and 100,000 prefixes:
// armnetwork's model held each prefix as a pointer to a string, after the
// whole body, which took 45 MB of allocation and more than doubled a run's
// peak memory.
func (s *Session) ServiceTags(ctx context.Context, location, apiVersion string) (*servicetags.Set, error) {
	u := s.endpoint + "/subscriptions/" + url.PathEscape(s.sub) + "/providers/Microsoft.Network/locations/" +
		url.PathEscape(location) + "/serviceTags?api-version=" + apiVersion
	req, err := runtime.NewRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	runtime.SkipBodyDownload(req)
	resp, err := s.pipeline.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, runtime.NewResponseError(resp)
	}
	set, err := servicetags.Parse(resp.Body, "arm")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, Malformed(err.Error())
	}
	return set, nil
}

// CloudConfig returns azcore's configuration for the cloud, with the
// Resource Manager endpoint replaced when armEndpoint is set (the token
// audience stays the cloud's).
func CloudConfig(name probes.Cloud, armEndpoint string) (cloud.Configuration, error) {
	var c cloud.Configuration
	switch name {
	case probes.CloudPublic, "":
		c = cloud.AzurePublic
	case probes.CloudUSGov:
		c = cloud.AzureGovernment
	case probes.CloudChina:
		c = cloud.AzureChina
	default:
		return c, fmt.Errorf("--cloud %q: want public, usgov or china", name)
	}
	svcs := make(map[cloud.ServiceName]cloud.ServiceConfiguration, len(c.Services))
	for k, v := range c.Services {
		svcs[k] = v
	}
	c.Services = svcs
	if armEndpoint != "" {
		rm := c.Services[cloud.ResourceManager]
		rm.Endpoint = strings.TrimRight(armEndpoint, "/")
		c.Services[cloud.ResourceManager] = rm
	}
	return c, nil
}
