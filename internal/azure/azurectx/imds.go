package azurectx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

const imdsAPIVersion = "2021-02-01"

// maxIMDSBody bounds an IMDS answer; real ones are a few kB.
const maxIMDSBody = 1 << 20

// Instance is what IMDS says about this VM.
type Instance struct {
	Location, Name, ResourceGroup, SubscriptionID, ResourceID, AzEnvironment string
	PrivateIP, PublicIP, Subnet                                              string
}

type imdsDoc struct {
	Compute struct {
		Location          string `json:"location"`
		Name              string `json:"name"`
		ResourceGroupName string `json:"resourceGroupName"`
		SubscriptionID    string `json:"subscriptionId"`
		ResourceID        string `json:"resourceId"`
		AzEnvironment     string `json:"azEnvironment"`
	} `json:"compute"`
	Network struct {
		Interface []struct {
			IPv4 struct {
				IPAddress []struct {
					PrivateIPAddress string `json:"privateIpAddress"`
					PublicIPAddress  string `json:"publicIpAddress"`
				} `json:"ipAddress"`
				Subnet []struct {
					Address string `json:"address"`
					Prefix  string `json:"prefix"`
				} `json:"subnet"`
			} `json:"ipv4"`
		} `json:"interface"`
	} `json:"network"`
}

// fetchInstance asks IMDS for the instance document within o.IMDSTimeout.
func fetchInstance(ctx context.Context, o *Options) (*Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, o.IMDSTimeout)
	defer cancel()
	u := strings.TrimRight(o.IMDSEndpoint, "/") + "/metadata/instance?api-version=" + imdsAPIVersion
	body, err := imdsGet(ctx, u)
	if err != nil {
		return nil, err
	}
	var d imdsDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("IMDS answered with something that is not its instance document: %v", err)
	}
	in := &Instance{
		Location: d.Compute.Location, Name: d.Compute.Name, ResourceGroup: d.Compute.ResourceGroupName,
		SubscriptionID: d.Compute.SubscriptionID, ResourceID: d.Compute.ResourceID, AzEnvironment: d.Compute.AzEnvironment,
	}
	// NIC order is not guaranteed; take the first interface with an address.
	for _, nic := range d.Network.Interface {
		if len(nic.IPv4.IPAddress) == 0 {
			continue
		}
		in.PrivateIP = nic.IPv4.IPAddress[0].PrivateIPAddress
		in.PublicIP = nic.IPv4.IPAddress[0].PublicIPAddress
		if len(nic.IPv4.Subnet) > 0 && nic.IPv4.Subnet[0].Address != "" && nic.IPv4.Subnet[0].Prefix != "" {
			in.Subnet = nic.IPv4.Subnet[0].Address + "/" + nic.IPv4.Subnet[0].Prefix
		}
		break
	}
	if in.ResourceID == "" && in.SubscriptionID != "" && in.ResourceGroup != "" && in.Name != "" {
		in.ResourceID = "/subscriptions/" + in.SubscriptionID + "/resourceGroups/" + in.ResourceGroup +
			"/providers/Microsoft.Compute/virtualMachines/" + in.Name
	}
	return in, nil
}

func imdsGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Metadata", "true")
	resp, err := imdsClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoIMDS, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIMDSBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %v", errNoIMDS, err)
	}
	if len(body) > maxIMDSBody {
		return nil, fmt.Errorf("IMDS answer larger than %d bytes", maxIMDSBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("IMDS answered HTTP %d: %s", resp.StatusCode, firstLine(body))
	}
	return body, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// imdsTokenCredential asks the IMDS at a configured endpoint for a managed
// identity token. azidentity's ManagedIdentityCredential always talks to
// 169.254.169.254; this one honours --imds-endpoint so a stand-in metadata
// service serves tokens too.
type imdsTokenCredential struct {
	endpoint string
	clientID string
}

var _ azcore.TokenCredential = (*imdsTokenCredential)(nil)

func (c *imdsTokenCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, errors.New("managed identity: exactly one scope is needed")
	}
	resource := strings.TrimSuffix(opts.Scopes[0], "/.default")
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if c.clientID != "" {
		q.Set("client_id", c.clientID)
	}
	body, err := imdsGet(ctx, strings.TrimRight(c.endpoint, "/")+"/metadata/identity/oauth2/token?"+q.Encode())
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("managed identity: %v", err)
	}
	var t struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return azcore.AccessToken{}, errors.New("managed identity: IMDS answered without an access token")
	}
	exp := time.Now().Add(5 * time.Minute)
	if s := strings.Trim(string(t.ExpiresOn), `"`); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			exp = time.Unix(n, 0)
		}
	}
	return azcore.AccessToken{Token: t.AccessToken, ExpiresOn: exp}, nil
}
