package catalog

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// expectation turns an Expectation into the probe's judge of the answer.
func expectation(e Endpoint) probes.HTTPExpect {
	switch e.Expect {
	case ExpectGraphMetadata:
		return func(status int, _ http.Header, body []byte) *probes.Result {
			if status != http.StatusOK {
				r := probes.Failf(probes.ReasonHTTPStatus, probes.PhaseHTTP, fmt.Sprintf("Microsoft Graph answered HTTP %d to GET /v1.0/$metadata, expected 200", status))
				return &r
			}
			if !bytes.Contains(body, []byte("edmx:Edmx")) {
				r := probes.Failf(probes.ReasonHTTPBody, probes.PhaseHTTP, fmt.Sprintf("HTTP 200, but the body is not an EDMX document (starts %q): something other than Microsoft Graph answered", snippet(body)))
				return &r
			}
			return nil
		}
	case ExpectVaultChallenge:
		return func(status int, h http.Header, body []byte) *probes.Result {
			challenge := h.Get("WWW-Authenticate")
			if status == http.StatusUnauthorized && strings.HasPrefix(strings.ToLower(challenge), "bearer") {
				return nil
			}
			if status == http.StatusUnauthorized {
				r := probes.Failf(probes.ReasonHTTPBody, probes.PhaseHTTP, fmt.Sprintf("HTTP 401 without Key Vault's Bearer challenge (WWW-Authenticate %q): something other than Key Vault answered", probes.Untrusted(challenge, 120)))
				return &r
			}
			r := probes.Failf(probes.ReasonHTTPStatus, probes.PhaseHTTP, fmt.Sprintf("HTTP %d to an unauthenticated request, expected Key Vault's 401 with a Bearer challenge (body starts %q)", status, snippet(body)))
			return &r
		}
	case ExpectGatewayStatus:
		return probes.ExpectStatus(http.StatusOK)
	case ExpectAnyHTTP:
		// Any answer from an HTTP server shows the path is open; a proxy's
		// authentication demand or gateway error shows it is not.
		return func(status int, _ http.Header, _ []byte) *probes.Result {
			if status == http.StatusProxyAuthRequired || status >= 500 {
				r := probes.Failf(probes.ReasonHTTPStatus, probes.PhaseHTTP, fmt.Sprintf("HTTP %d: a proxy or appliance answered instead of the endpoint", status))
				return &r
			}
			return nil
		}
	}
	return nil
}

// snippet is the start of an answer's body, as it may be shown: the body is
// the server's (or a block page's) and is neither trusted nor bounded.
func snippet(b []byte) string {
	const n = 60
	if len(b) > 4*n {
		b = b[:4*n]
	}
	return probes.Untrusted(string(b), n)
}
