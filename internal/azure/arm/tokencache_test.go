package arm

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// countingCred hands out numbered tokens valid for life.
type countingCred struct {
	asked []policy.TokenRequestOptions
	life  time.Duration
}

func (c *countingCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.asked = append(c.asked, o)
	return azcore.AccessToken{Token: string(rune('a' + len(c.asked) - 1)), ExpiresOn: time.Now().Add(c.life)}, nil
}

func TestCacheTokensOncePerScope(t *testing.T) {
	src := &countingCred{life: time.Hour}
	cred := CacheTokens(src)
	if CacheTokens(cred) != cred {
		t.Fatal("wrapped twice")
	}
	ctx := context.Background()
	// FirstToken asks as the pipeline does: the pipeline's request is
	// served from it.
	if err := FirstToken(ctx, cred, cloud.AzurePublic); err != nil {
		t.Fatal(err)
	}
	pipeline := policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}, EnableCAE: true}
	for range 3 {
		if tk, _ := cred.GetToken(ctx, pipeline); tk.Token != "a" {
			t.Fatalf("token %q, want the first one", tk.Token)
		}
	}
	// A challenge's claims, another tenant, another scope: the credential.
	for i, o := range []policy.TokenRequestOptions{
		{Scopes: pipeline.Scopes, EnableCAE: true, Claims: "e30="},
		{Scopes: pipeline.Scopes, EnableCAE: true, TenantID: "t"},
		{Scopes: []string{"https://vault.azure.net/.default"}},
	} {
		if tk, _ := cred.GetToken(ctx, o); tk.Token != string(rune('b'+i)) {
			t.Errorf("%+v: token %q, want a new one", o, tk.Token)
		}
	}
	if len(src.asked) != 4 {
		t.Errorf("asked %d times, want 4", len(src.asked))
	}
}

func TestCacheTokensNotNearExpiry(t *testing.T) {
	src := &countingCred{life: 4 * time.Minute} // within azcore's refresh margin
	cred := CacheTokens(src)
	o := policy.TokenRequestOptions{Scopes: []string{"s/.default"}}
	cred.GetToken(context.Background(), o)
	cred.GetToken(context.Background(), o)
	if len(src.asked) != 2 {
		t.Errorf("a token about to expire was handed again (%d asks)", len(src.asked))
	}
}
