package arm

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// tokenMargin is how long before its expiry a kept token is asked for
// again: azcore's bearer policy refreshes within 5 minutes of the end.
const tokenMargin = 5 * time.Minute

// cachedCredential keeps the token a run got and hands it to every
// request for the same scopes while it is valid. The pipeline's bearer
// policy keeps its own, but each armnetwork client builds a pipeline of its
// own, and the first token (FirstToken) was had before any pipeline
// existed: without it a run asked the metadata service (or az) for the same
// token three times, each on the way of a read (the VM's, the NIC's, the
// subnet's). A request with claims (a challenge) or for another tenant is
// never served from it. It lives only in memory, for one run.
type cachedCredential struct {
	cred azcore.TokenCredential

	mu   sync.Mutex
	kept map[string]azcore.AccessToken
}

// CacheTokens wraps cred so that a token is asked for once per run and
// scope (cachedCredential).
func CacheTokens(cred azcore.TokenCredential) azcore.TokenCredential {
	if _, ok := cred.(*cachedCredential); ok || cred == nil {
		return cred
	}
	return &cachedCredential{cred: cred, kept: map[string]azcore.AccessToken{}}
}

// tokenKey is the request a kept token answers, or "" for one that must
// go to the credential.
func tokenKey(o policy.TokenRequestOptions) string {
	if o.Claims != "" || o.TenantID != "" || len(o.Scopes) == 0 {
		return ""
	}
	k := ""
	if o.EnableCAE {
		k = "cae"
	}
	for _, s := range slices.Sorted(slices.Values(o.Scopes)) {
		k += " " + s
	}
	return k
}

func (c *cachedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := tokenKey(o)
	if key != "" {
		c.mu.Lock()
		t, ok := c.kept[key]
		c.mu.Unlock()
		if ok && time.Until(t.ExpiresOn) > tokenMargin {
			return t, nil
		}
	}
	t, err := c.cred.GetToken(ctx, o)
	if err == nil && key != "" {
		c.mu.Lock()
		c.kept[key] = t
		c.mu.Unlock()
	}
	return t, err
}
