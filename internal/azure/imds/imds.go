// Package imds is the Instance Metadata Service client: the VM's instance
// document, its load balancer's public address and the managed identity's
// token. Every answer is bounded, no redirect is followed, and no proxy is
// used; what the service tells is kept only when it is what Azure gives.
package imds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/lazyre"
)

const imdsAPIVersion = "2021-02-01"

// MaxBody bounds an IMDS answer; real ones are a few kB.
const MaxBody = 1 << 20

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
		// VMScaleSetName is set on a scale set's VM, whose name is then
		// {vmScaleSetName}_{instanceId} in a Uniform scale set.
		VMScaleSetName string `json:"vmScaleSetName"`
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

// imdsRetryWindow bounds the retries of a metadata service that answers
// 410 (after a reboot: up to 70 s) or 429 (5 requests a second), within the
// caller's deadline: a share of the run, so the probes keep their time.
const imdsRetryWindow = 70 * time.Second

// FetchInstance asks IMDS for the instance document. The first answer must
// come within timeout (outside Azure nothing answers and the run goes
// on at once); a 410, 429 or 5xx is an IMDS that exists, and is retried
// until a third of the time left to ctx (at most imdsRetryWindow). A VM
// whose public address IMDS leaves empty (Standard-SKU public IPs, a
// Standard load balancer) gets it from /metadata/loadbalancer.
func FetchInstance(ctx context.Context, endpoint string, timeout time.Duration) (*Instance, error) {
	base := strings.TrimRight(endpoint, "/")
	body, err := imdsGetRetrying(ctx, base+"/metadata/instance?api-version="+imdsAPIVersion, timeout)
	if err != nil {
		return nil, err
	}
	var d imdsDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("IMDS answered with something that is not its instance document: %s", bounded.Line(err.Error()))
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
		// A Uniform scale set's VM is the scale set's child (scaleSetResourceID).
		in.ResourceID = scaleSetResourceID(in.SubscriptionID, in.ResourceGroup, d.Compute.VMScaleSetName, in.Name)
	}
	if in.ResourceID == "" && in.SubscriptionID != "" && in.ResourceGroup != "" && in.Name != "" {
		in.ResourceID = "/subscriptions/" + in.SubscriptionID + "/resourceGroups/" + in.ResourceGroup +
			"/providers/Microsoft.Compute/virtualMachines/" + in.Name
	}
	if in.PublicIP == "" {
		in.PublicIP = loadBalancerPublicIP(ctx, base, in.PrivateIP, timeout)
	}
	in.validate()
	return in, nil
}

// Azure's own rules for what IMDS tells; anything else is not a value
// Azure gave (a stand-in, a proxy, a bug) and is dropped as unknown rather
// than carried into resource ids, az commands and reports.
//
// A rule's length is checked apart from its pattern: as repetition counts
// ({1,90}) the bounds made the patterns compile to long programs (0.75 ms
// and 243 KB at the first answer, 0.07 ms and 23 KB without). Every
// pattern is ASCII, so a length in bytes is one in characters.
var (
	imdsRegion   = within(lazyre.New(`^[A-Za-z][A-Za-z0-9 ]+$`), 2, 41)
	imdsRG       = within(lazyre.New(`^[-\w._()]+$`), 1, 90)
	imdsVMName   = within(lazyre.New(`^[-\w.]+$`), 1, 64)
	imdsResource = within(lazyre.New(`^(/[-\w._()]+)+$`), 1, 512)
	imdsEnv      = within(lazyre.New(`^[A-Za-z]+$`), 1, 40)
)

// within is a rule: re matches, in min to max bytes.
func within(re *lazyre.Regexp, min, max int) func(string) bool {
	return func(s string) bool { return len(s) >= min && len(s) <= max && re.MatchString(s) }
}

// isGUID: 8-4-4-4-12 hexadecimal digits, either case.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (in *Instance) validate() {
	keep := func(v *string, ok func(string) bool) {
		if *v != "" && (len(*v) > 512 || !ok(*v)) {
			*v = ""
		}
	}
	keep(&in.Location, imdsRegion)
	keep(&in.SubscriptionID, isGUID)
	keep(&in.ResourceGroup, imdsRG)
	keep(&in.Name, imdsVMName)
	keep(&in.ResourceID, imdsResource)
	keep(&in.AzEnvironment, imdsEnv)
	for _, ip := range []*string{&in.PrivateIP, &in.PublicIP} {
		if a, err := netip.ParseAddr(*ip); err != nil || a.Zone() != "" {
			*ip = ""
		}
	}
	if p, err := netip.ParsePrefix(in.Subnet); err != nil {
		in.Subnet = ""
	} else {
		in.Subnet = p.Masked().String()
	}
}

// loadBalancerPublicIP asks /metadata/loadbalancer for this VM's
// instance-level public address, else its load balancer's outbound one
// (azure-facts §11.4); "" when there is none or IMDS does not say.
func loadBalancerPublicIP(ctx context.Context, base, privateIP string, timeout time.Duration) string {
	body, err := imdsGetRetrying(ctx, base+"/metadata/loadbalancer?api-version="+imdsLBAPIVersion, timeout)
	if err != nil {
		return ""
	}
	return parseLoadBalancer(body, privateIP)
}

// parseLoadBalancer reads /metadata/loadbalancer's answer: the first IPv4
// frontend of privateIP (or of any address when either is unknown).
func parseLoadBalancer(body []byte, privateIP string) string {
	type pair struct {
		Frontend string `json:"frontendIpAddress"`
		Private  string `json:"privateIpAddress"`
	}
	var lb struct {
		LoadBalancer struct {
			PublicIPAddresses []pair `json:"publicIpAddresses"`
			OutboundRules     []pair `json:"outboundRules"`
		} `json:"loadbalancer"`
	}
	if json.Unmarshal(body, &lb) != nil {
		return ""
	}
	for _, list := range [][]pair{lb.LoadBalancer.PublicIPAddresses, lb.LoadBalancer.OutboundRules} {
		for _, p := range list {
			a, err := netip.ParseAddr(p.Frontend)
			if err != nil || !a.Is4() {
				continue
			}
			if privateIP == "" || p.Private == "" || p.Private == privateIP {
				return a.String()
			}
		}
	}
	return ""
}

const imdsLBAPIVersion = "2020-10-01"

// imdsStatusError is an answer from IMDS other than 200.
type imdsStatusError struct {
	status     int
	retryAfter string
	body       string // what of the body a message shows
	raw        []byte // the body's start, for identityWords
	redirect   bool
}

func (e *imdsStatusError) Error() string {
	msg := fmt.Sprintf("IMDS answered HTTP %d", e.status)
	if e.redirect {
		return msg + ", a redirect, which is not followed"
	}
	if e.retryAfter != "" {
		msg += " (Retry-After " + bounded.RetryAfter(e.retryAfter) + ")"
	}
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// retriable: 410 after a reboot, 429 throttling, 5xx.
func (e *imdsStatusError) retriable() bool {
	return e.status == http.StatusGone || e.status == http.StatusTooManyRequests || e.status >= 500
}

// imdsGetRetrying asks IMDS; the first answer must come within timeout,
// and a retriable status is asked again, honouring Retry-After, until a
// third of ctx's remaining time (at most imdsRetryWindow) has passed.
func imdsGetRetrying(ctx context.Context, u string, timeout time.Duration) ([]byte, error) {
	window := imdsRetryWindow
	if dl, ok := ctx.Deadline(); ok {
		window = min(window, time.Until(dl)/3)
	}
	end := time.Now().Add(window)
	delay := 200 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, timeout)
		body, err := imdsGet(actx, u)
		cancel()
		var se *imdsStatusError
		if err == nil || !errors.As(err, &se) || !se.retriable() {
			return body, err
		}
		wait := delay
		if n, perr := strconv.Atoi(se.retryAfter); perr == nil && n >= 0 {
			wait = time.Duration(n) * time.Second
		}
		if time.Now().Add(wait).After(end) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func imdsGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Metadata", "true")
	resp, err := Client().Do(req)
	if err != nil {
		// Go's error repeats the whole URL; --imds-endpoint may carry a
		// query no log or report should show, so only what happened stays.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %s", ErrNoIMDS, bounded.Line(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %s", ErrNoIMDS, bounded.Line(err.Error()))
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("IMDS answer larger than %d bytes", MaxBody)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Not followed (Client); where it pointed is not shown.
		return nil, &imdsStatusError{status: resp.StatusCode, redirect: true}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &imdsStatusError{status: resp.StatusCode, retryAfter: bounded.Line(resp.Header.Get("Retry-After")),
			body: bounded.Line(string(body)), raw: body[:min(len(body), 4<<10)]}
	}
	return body, nil
}

// TokenCredential asks the metadata service for a managed identity
// token. It is used in place of azidentity's ManagedIdentityCredential,
// which always talks to 169.254.169.254 and through a client of its own:
// this one honours --imds-endpoint (a stand-in metadata service serves
// tokens too) and uses Client, which follows no redirect.
type TokenCredential struct {
	Endpoint string
	ClientID string
}

var _ azcore.TokenCredential = (*TokenCredential)(nil)

func (c *TokenCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, errors.New("managed identity: exactly one scope is needed")
	}
	resource := strings.TrimSuffix(opts.Scopes[0], "/.default")
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if c.ClientID != "" {
		q.Set("client_id", c.ClientID)
	}
	// Like azidentity, retry the metadata service's 410, 429 and 5xx
	// (within the reads' deadline); the first answer within 5 s.
	body, err := imdsGetRetrying(ctx, strings.TrimRight(c.Endpoint, "/")+"/metadata/identity/oauth2/token?"+q.Encode(), 5*time.Second)
	if err != nil {
		// An identity endpoint's error body may echo the request, or a
		// token: only its status and known words are shown.
		var se *imdsStatusError
		if errors.As(err, &se) {
			se.body = identityWords(se.raw)
		}
		who := "the system-assigned identity"
		if c.ClientID != "" {
			who = "the user-assigned identity " + c.ClientID
		}
		return azcore.AccessToken{}, fmt.Errorf("managed identity (%s): %v", who, err)
	}
	return parseToken(body, time.Now())
}

// parseToken reads the token endpoint's 200 answer; a token without an
// expiry lasts five minutes from now.
func parseToken(body []byte, now time.Time) (azcore.AccessToken, error) {
	var t struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return azcore.AccessToken{}, errors.New("managed identity: IMDS answered without an access token")
	}
	exp := now.Add(5 * time.Minute)
	if s := strings.Trim(string(t.ExpiresOn), `"`); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			exp = time.Unix(n, 0)
		}
	}
	return azcore.AccessToken{Token: t.AccessToken, ExpiresOn: exp}, nil
}

// imdsErrorCode is an OAuth error code (invalid_request, invalid_resource).
var imdsErrorCode = lazyre.New(`^[a-z][a-z_]{0,39}$`)

// imdsDescriptions are the error descriptions the metadata service's token
// endpoint is documented to give, lower case: the only ones shown.
var imdsDescriptions = map[string]bool{
	"identity not found":                     true,
	"required metadata header not specified": true,
	"multiple user assigned identities exist, please specify the clientid / resourceid of the identity in the token request": true,
	"imds is updating":             true,
	"imds throttle limit exceeded": true,
	"internal error in the imds":   true,
}

// identityWords is what of an identity endpoint's error body a message may
// show: its OAuth error code and a description from imdsDescriptions, or
// nothing.
func identityWords(body []byte) string {
	var e struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var code string
	var words []string
	if json.Unmarshal(e.Error, &code) == nil && imdsErrorCode.MatchString(code) {
		words = append(words, code)
	}
	if d := strings.TrimSuffix(strings.TrimSpace(e.Description), "."); imdsDescriptions[strings.ToLower(d)] {
		words = append(words, "("+d+")")
	}
	return strings.Join(words, " ")
}

// ErrNoIMDS marks discovery outside Azure.
var ErrNoIMDS = errors.New("the Instance Metadata Service did not answer")

// Client bypasses any proxy: IMDS must be reached directly, and a proxy
// from the environment would forward 169.254.169.254 elsewhere. It follows
// no redirect (IMDS never sends one; a 3xx is a stand-in sending the token
// request, or the instance document, to another host) and asks for no
// compression, so that its body cap bounds the bytes on the wire.
func Client() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10, DisableCompression: true},
		CheckRedirect: RefuseRedirect,
	}
}

// RefuseRedirect makes an http.Client return a redirect as the answer.
func RefuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Host is the metadata service's link-local address.
const Host = "169.254.169.254"

// scaleSetResourceID is the resource id of a Uniform scale set's VM from
// IMDS's names when IMDS gives no resourceId: the VM is named
// {vmScaleSetName}_{instanceId} (a Flexible scale set's VMs are plain VMs,
// named with a non-numeric suffix).
func scaleSetResourceID(sub, rg, vmss, name string) string {
	inst, ok := strings.CutPrefix(name, vmss+"_")
	if vmss == "" || !ok || inst == "" || strings.Trim(inst, "0123456789") != "" {
		return ""
	}
	return "/subscriptions/" + sub + "/resourceGroups/" + rg +
		"/providers/Microsoft.Compute/virtualMachineScaleSets/" + url.PathEscape(vmss) + "/virtualMachines/" + inst
}
