package arm

import (
	"net/http"
	"net/url"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/apimprobe/apimprobe/probes"
)

// The bearer token of this VM's identity goes to Resource Manager and
// nowhere else. Resource Manager's answers name URLs the reads follow (a
// long-running read's Location and Azure-AsyncOperation, a list's
// nextLink, a redirect): one that names another host would receive the
// token and have its answer judged as this VM's routes and NSGs. armGuard
// refuses, before anything is sent, every request that is not https on
// the endpoint's own host and port; the read it belongs to fails and says
// where the link pointed.

// armGuard knows Resource Manager's scheme and host:port.
type armGuard struct {
	scheme, host string
}

func newARMGuard(endpoint string) *armGuard {
	g := &armGuard{}
	if u, err := url.Parse(endpoint); err == nil {
		g.scheme, g.host = strings.ToLower(u.Scheme), canonicalHost(u)
	}
	return g
}

// canonicalHost is u's host:port, lower case, without a trailing dot, the
// scheme's default port written out.
func canonicalHost(u *url.URL) string {
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	p := u.Port()
	if p == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			p = "443"
		case "http":
			p = "80"
		}
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + p
}

// check refuses u unless it is https on Resource Manager's host and port,
// with no user information; what names the URL's origin in the error.
func (g *armGuard) check(u *url.URL, what string) error {
	if u != nil && g.scheme == "https" && strings.EqualFold(u.Scheme, "https") && u.User == nil &&
		u.Host != "" && canonicalHost(u) == g.host {
		return nil
	}
	return &OffHostError{what: what, to: linkWords(u), home: g.host}
}

// Do is the guard as a pipeline policy. It runs per call, before the retry
// policy and before the bearer token policy that would attach the token.
func (g *armGuard) Do(req *policy.Request) (*http.Response, error) {
	if err := g.check(req.Raw().URL, "a long-running read's link"); err != nil {
		return nil, err
	}
	return req.Next()
}

// linkWords names where a refused URL points: its scheme and host, cleaned
// and bounded (never its path or query).
func linkWords(u *url.URL) string {
	if u == nil {
		return "an empty URL"
	}
	s := u.Host
	if u.Scheme != "" {
		s = u.Scheme + "://" + s
	}
	if s == "" {
		s = "a URL without a host"
	}
	return probes.Untrusted(s, 100)
}

// OffHostError is a request the guard refused: it would have carried the
// token away from Resource Manager. The read it belongs to fails.
type OffHostError struct {
	what, to, home string
}

func (e *OffHostError) Error() string {
	// The destination first: a message is cut at bounded.MaxLine runes.
	return "refused to follow " + e.what + " to " + e.to + ": not Resource Manager (" + e.home + "), so the token was not sent there"
}

// NonRetriable tells azcore's retry policy not to ask again.
func (e *OffHostError) NonRetriable() {}

// Guard makes every client built with co refuse to leave Resource
// Manager: the guard joins its per-call policies, and its transport
// follows no redirect.
func Guard(co *azarm.ClientOptions, endpoint string) {
	g := newARMGuard(endpoint)
	co.PerCallPolicies = append([]policy.Policy{g}, co.PerCallPolicies...)
	co.Transport = noRedirect(co.Transport, g)
}

// noRedirect returns t, as an *http.Client that follows no redirect: one
// off Resource Manager is refused with OffHostError, one on it is returned
// as the answer (Resource Manager does not redirect its reads).
func noRedirect(t policy.Transporter, g *armGuard) policy.Transporter {
	c, ok := t.(*http.Client)
	if !ok {
		return t
	}
	cc := *c
	cc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if err := g.check(req.URL, "a redirect"); err != nil {
			return err
		}
		return http.ErrUseLastResponse
	}
	return &cc
}

// URL is the URL of a path on Resource Manager (endpoint) or of a link an
// answer gave (a nextLink): a link must be on Resource Manager itself.
func URL(endpoint, path, what string) (string, error) {
	if strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "//") {
		return endpoint + path, nil
	}
	u, err := url.Parse(path)
	if err != nil {
		return "", &OffHostError{what: what, to: "a URL that does not parse", home: newARMGuard(endpoint).host}
	}
	if err := newARMGuard(endpoint).check(u, what); err != nil {
		return "", err
	}
	return u.String(), nil
}
