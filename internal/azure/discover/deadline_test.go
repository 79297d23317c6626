package discover

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// slowLRO answers a long-running POST like real ARM: 202 with a Location
// and Retry-After 10, and the result only once after has passed since the
// POST; it records when the result was served.
type slowLRO struct {
	after   time.Duration
	fixture string
	mu      sync.Mutex
	posted  time.Time
	served  time.Time
}

func (l *slowLRO) post(base func() string, op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.posted = time.Now()
		l.mu.Unlock()
		w.Header().Set("Location", base()+"/operations/"+op)
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusAccepted)
	}
}

func (l *slowLRO) poll(t *testing.T, base func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if time.Since(l.posted) < l.after {
			w.Header().Set("Location", base()+r.URL.Path)
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		l.served = time.Now()
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, l.fixture))
	}
}

// The analyses wait for reads that take longer than a check's --timeout,
// up to the run's deadline, through the real runner: with both
// long-running reads answering after 1.2 s, a --timeout of 200 ms and a
// --deadline of 5 s, every route and NSG analysis has a verdict (no skip),
// and the run ends soon after the last read.
func TestAnalysesWaitForSlowReadsBeyondTheirTimeout(t *testing.T) {
	imds, _ := fakeIMDS(t)
	routesLRO := &slowLRO{after: 1200 * time.Millisecond, fixture: "effective-routes.json"}
	nsgLRO := &slowLRO{after: 1200 * time.Millisecond, fixture: "effective-nsgs.json"}
	var arm *armServer
	base := func() string { return arm.URL }
	arm = newARM(t, map[string]http.HandlerFunc{
		"POST effectiveRouteTable":            routesLRO.post(base, "routes-slow"),
		"GET routes-slow":                     routesLRO.poll(t, base),
		"POST effectiveNetworkSecurityGroups": nsgLRO.post(base, "nsgs-slow"),
		"GET nsgs-slow":                       nsgLRO.poll(t, base),
	})
	o := baseOpts(imds.URL, arm)
	o.RunDeadline = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), o.RunDeadline)
	defer cancel()
	start := time.Now()
	d := mustDiscover(t, ctx, o)
	// While the long-running reads go on, Pending names them (looked at
	// until they have started, under a loaded machine's slowness).
	var got string
	for until := time.Now().Add(time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
		var titles []string
		for _, p := range d.Pending() {
			titles = append(titles, p.Title)
		}
		if got = strings.Join(titles, ","); strings.Contains(got, "effective routes") && strings.Contains(got, "effective NSGs") {
			break
		}
	}
	if !strings.Contains(got, "effective routes") || !strings.Contains(got, "effective NSGs") {
		t.Errorf("pending reads %q, want the effective routes and NSGs", got)
	}
	outs := probes.Run(ctx, judge.Checks(d, judgeConfig(o)), probes.RunOptions{Timeout: 200 * time.Millisecond, Deadline: time.Until(start.Add(o.RunDeadline)), Concurrency: 2})
	end := time.Now()
	for _, out := range outs {
		r := out.Result
		if r.Status == probes.Skip && r.Reason != probes.ReasonNotApplicable {
			t.Errorf("%s skipped: %s", out.Check.ID, r.Message)
		}
		if r.Reason == probes.ReasonDeadline || r.Reason == probes.ReasonTimeout {
			t.Errorf("%s cut: %s", out.Check.ID, r.Message)
		}
	}
	if len(d.Pending()) != 0 {
		t.Errorf("reads still pending after the run: %v", d.Pending())
	}
	routesLRO.mu.Lock()
	nsgLRO.mu.Lock()
	last := routesLRO.served
	if nsgLRO.served.After(last) {
		last = nsgLRO.served
	}
	nsgLRO.mu.Unlock()
	routesLRO.mu.Unlock()
	if last.IsZero() || last.Sub(start) < time.Second {
		t.Fatalf("the reads did not take their time: last served %v after start", last.Sub(start))
	}
	// Polls come at most 250 ms apart this early (arm.PollUntilDone), the result is
	// recorded at once and the analyses are quick: well under 0.5 s.
	if lag := end.Sub(last); lag > 500*time.Millisecond {
		t.Errorf("the run ended %v after the last read was served, want ≤ 0.5 s", lag)
	}
}

// Effective reads denied (403): the configured view takes over, says so,
// and says what it cannot see — here an AVNM AlwaysAllow for SQL that the
// effective view had, so the configured NSG's DenyInternetOut decides.
func TestEffectiveDeniedConfiguredViewTakesOver(t *testing.T) {
	imds, _ := fakeIMDS(t)
	deny := armError(http.StatusForbidden, "AuthorizationFailed")
	arm := newARM(t, map[string]http.HandlerFunc{"POST effectiveRouteTable": deny, "POST effectiveNetworkSecurityGroups": deny})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	for _, n := range []string{snapshot.ReadSubnetNSG, snapshot.ReadRouteTable, snapshot.ReadVNet} {
		if !s.Read(n).OK() {
			t.Fatalf("%s read: %+v", n, s.Read(n))
		}
	}
	res := runChecks(t, d, o)
	// The split default route is in the route table itself.
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "0.0.0.0/1", "configured view of subnet snet-apim",
		"route table rt-apim", "nothing in the virtual network learns routes over BGP", "denied (HTTP 403")
	expect(t, res, "route.management-return", probes.Fail, probes.ReasonAsymmetricRoute, "configured view")
	expect(t, res, "route.dependency.storage", probes.Warn, probes.ReasonForcedTunnel, "configured view")
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-3443", "AllowApimManagement", "NSG nsg-apim",
		"cannot see Azure Virtual Network Manager security admin rules")
	expect(t, res, "subnet.nsg.outbound-sql-1433", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "configured view")
	if ev := res["subnet.nsg.inbound-3443"].Evidence["view"]; ev != judge.ViewConfigured {
		t.Errorf("evidence view %v", ev)
	}
	// With the effective views, the same checks say so.
	arm2 := newARM(t, nil)
	o2 := baseOpts(imds.URL, arm2)
	d2, _ := Discover(context.Background(), o2)
	res = runChecks(t, d2, o2)
	expect(t, res, "subnet.nsg.outbound-sql-1433", probes.Pass, probes.ReasonOK, "AlwaysAllowSql", "effective NSGs")
	if ev := res["route.forced-tunnel"].Evidence["view"]; ev != judge.ViewEffective {
		t.Errorf("evidence view %v", ev)
	}
}

const v2Subnet = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-apim-v2"

// v2ARM serves an instance in its own delegated subnet; the jumpbox's NIC
// stays in snet-apim.
func v2ARM(t *testing.T, delegation string, extra map[string]http.HandlerFunc) *armServer {
	h := map[string]http.HandlerFunc{
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Replace(string(fixture(t, "apim.json")), `/subnets/snet-apim"`, `/subnets/snet-apim-v2"`, 1)))
		},
		"GET snet-apim-v2": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"snet-apim-v2","id":"` + v2Subnet + `","properties":{"addressPrefix":"10.1.3.0/27",
				"networkSecurityGroup":{"id":"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-apim"},
				"delegations":[{"name":"d","properties":{"serviceName":"` + delegation + `"}}],"ipConfigurations":[]}}`))
		},
	}
	for k, v := range extra {
		h[k] = v
	}
	return newARM(t, h)
}

// v2 modes judge the instance's subnet (from its resource after
// deployment), say plainly that apimprobe runs in another one, and use the
// configured view: the effective views describe this VM's NIC.
func TestV2JudgesTheInstanceSubnet(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := v2ARM(t, "Microsoft.Web/hostingEnvironments", nil)
	o := baseOpts(imds.URL, arm)
	o.Mode = probes.ModeV2Injected
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if !s.InstanceSubnet || s.Subnet == nil || s.Subnet.ID != v2Subnet {
		t.Fatalf("judged subnet %+v (instance subnet %v)", s.Subnet, s.InstanceSubnet)
	}
	// The context's subnet stays this VM's.
	if c := d.Context(); c.Subnet != "10.1.2.0/27" {
		t.Errorf("context subnet %q, want this VM's", c.Subnet)
	}
	res := runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Pass, probes.ReasonOK, "judged on the instance's subnet snet-apim-v2",
		"apimprobe runs in subnet snet-apim", "carry over only as far as")
	// No NIC of ours is in that subnet: the instance's own network status
	// shows what the view cannot.
	expectAllowedUnseen(t, res, "subnet.nsg.outbound-storage-443", "configured view of subnet snet-apim-v2",
		"describe this VM's NIC in another subnet", "networkstatus?api-version=", "the portal's Network status")
	if h := res["subnet.nsg.outbound-storage-443"].Hint; strings.Contains(h, "list-effective-nsg") {
		t.Errorf("hint names a NIC command for a subnet that holds none: %s", h)
	}
	// No route table on the v2 subnet: Azure's system routes only.
	expect(t, res, "route.forced-tunnel", probes.Pass, probes.ReasonOK, "configured view of subnet snet-apim-v2: Azure's system routes")

	// Wrong delegation: the instance's subnet fails, not the jumpbox's.
	arm = v2ARM(t, "Microsoft.Web/serverFarms", nil)
	o = baseOpts(imds.URL, arm)
	o.Mode = probes.ModeV2Injected
	d, _ = Discover(context.Background(), o)
	res = runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Fail, probes.ReasonSubnetConfig, "Microsoft.Web/hostingEnvironments", "snet-apim-v2")
}

// Before deployment the instance's subnet comes from --apim-subnet; without
// it the subnet checks say which flag names it.
func TestV2BeforeDeploymentNeedsAPIMSubnet(t *testing.T) {
	imds, _ := fakeIMDS(t)
	var apimCalls atomic.Int32
	arm := v2ARM(t, "Microsoft.Web/serverFarms", map[string]http.HandlerFunc{
		"GET contoso": func(w http.ResponseWriter, r *http.Request) { apimCalls.Add(1); w.WriteHeader(http.StatusNotFound) },
	})
	o := baseOpts(imds.URL, arm)
	o.Mode, o.Phase, o.Service = probes.ModeV2Integrated, probes.DeployPre, ""
	d, _ := Discover(context.Background(), o)
	res := runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Skip, probes.ReasonNotObservable, "--apim-subnet", "before deployment")
	expect(t, res, "subnet.nsg.outbound-keyvault-443", probes.Skip, probes.ReasonNotObservable, "--apim-subnet")

	o.APIMSubnet = v2Subnet
	d, _ = Discover(context.Background(), o)
	res = runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Pass, probes.ReasonOK, "snet-apim-v2", "Microsoft.Web/serverFarms")
	if apimCalls.Load() != 0 {
		t.Errorf("no service name, yet the instance was asked for %d times", apimCalls.Load())
	}
	bad := o
	bad.APIMSubnet = "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/v"
	if err := Validate(&bad); err == nil || !strings.Contains(err.Error(), "--apim-subnet") {
		t.Errorf("a VNet id as --apim-subnet: %v", err)
	}
}

// Throttling: a Retry-After that fits in the deadline is waited for and
// the read succeeds; one beyond it is reported at once, with its value.
func TestThrottlingRetryAfter(t *testing.T) {
	imds, _ := fakeIMDS(t)
	var n atomic.Int32
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET serviceTags": func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(fixture(t, "service-tags-arm.json"))
		},
		"POST effectiveNetworkSecurityGroups": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"SubscriptionRequestsThrottled","message":"slow\n\u001b[31mdown"}}`))
		},
	})
	o := baseOpts(imds.URL, arm)
	o.RunDeadline = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), o.RunDeadline)
	defer cancel()
	// A Retry-After of 120 s beyond the deadline is not waited for: the
	// read is throttled (below), not cut by the deadline.
	d, _ := Discover(ctx, o)
	s := d.Wait(ctx)
	if r := s.Read(snapshot.ReadServiceTags); !r.OK() || n.Load() != 2 {
		t.Errorf("service tags after one 429 with Retry-After 1: %+v (%d requests)", r, n.Load())
	}
	r := s.Read(snapshot.ReadEffectiveNSGs)
	if r.Status != snapshot.ReadThrottled || r.RetryAfter != "120" || !strings.Contains(r.Message, "retry after 120 s") || strings.ContainsAny(r.Message, "\n\x1b") {
		t.Fatalf("throttled read: %+v", r)
	}
	res := runChecks(t, d, o)
	// The configured view takes over, and says why.
	expectAllowedUnseen(t, res, "subnet.nsg.inbound-3443", "configured view", "HTTP 429", "retry after 120 s")
}

// A metadata service that answers 410 (after a reboot) and then 429 is
// retried; a Standard-SKU public IP comes from /metadata/loadbalancer;
// azEnvironment picks the cloud and with it the token's audience; a
// user-assigned identity's client id goes with the token request.
func TestIMDSOnRealVMs(t *testing.T) {
	doc := strings.Replace(string(fixture(t, "imds.json")), `"azEnvironment": "AzurePublicCloud"`, `"azEnvironment": "AzureUSGovernmentCloud"`, 1)
	if !strings.Contains(doc, "AzureUSGovernmentCloud") {
		t.Fatal("fixture has no azEnvironment to replace")
	}
	var instanceCalls atomic.Int32
	var resource, clientID atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/metadata/instance":
			switch instanceCalls.Add(1) {
			case 1:
				w.WriteHeader(http.StatusGone)
				return
			case 2:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.Write([]byte(doc))
		case "/metadata/loadbalancer":
			w.Write([]byte(`{"loadbalancer":{"publicIpAddresses":[{"frontendIpAddress":"51.0.0.1","privateIpAddress":"10.1.2.4"}],"inboundRules":[],"outboundRules":[{"frontendIpAddress":"50.0.0.1","privateIpAddress":"10.1.2.4"}]}}`))
		case "/metadata/identity/oauth2/token":
			resource.Store(r.URL.Query().Get("resource"))
			clientID.Store(r.URL.Query().Get("client_id"))
			w.Write([]byte(`{"access_token":"tok","expires_on":"4102444800"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	arm := newARM(t, nil)
	o := baseOpts(srv.URL, arm)
	o.TokenCredential, o.ManagedIdentityClientID = nil, "11111111-2222-3333-4444-555555555555"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := mustDiscover(t, ctx, o)
	c := d.Context()
	if instanceCalls.Load() != 3 || c.Region != "westeurope" {
		t.Fatalf("instance document after 410 and 429: %d calls, region %q (%s)", instanceCalls.Load(), c.Region, c.IMDSError)
	}
	if c.VMPublicIP != "51.0.0.1" || c.Sources["vm_public_ip"] != SourceIMDS {
		t.Errorf("public IP %q (%v), want the load balancer endpoint's instance-level 51.0.0.1", c.VMPublicIP, c.Sources)
	}
	if c.Cloud != probes.CloudUSGov || c.Sources["cloud"] != SourceIMDS {
		t.Errorf("cloud %q from %q, want usgov from imds", c.Cloud, c.Sources["cloud"])
	}
	d.Wait(ctx)
	if got, _ := resource.Load().(string); strings.TrimRight(got, "/") != "https://management.core.usgovcloudapi.net" {
		t.Errorf("token audience %q, want US Gov's Resource Manager", got)
	}
	if got, _ := clientID.Load().(string); got != o.ManagedIdentityClientID {
		t.Errorf("client_id %q, want the user-assigned identity's", got)
	}
	// --cloud wins over azEnvironment.
	o.Cloud = probes.CloudPublic
	instanceCalls.Store(2)
	d, _ = Discover(ctx, o)
	if c := d.Context(); c.Cloud != probes.CloudPublic || c.Sources["cloud"] != SourceFlag {
		t.Errorf("--cloud public: %q from %q", c.Cloud, c.Sources["cloud"])
	}
	d.Wait(ctx)
}

// --arm: no token means no run (exit 2 in the CLI), with one line saying why.
func TestARMRequiredWithoutToken(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	o.ARM = ARMOn
	cred := &azfake.TokenCredential{}
	cred.SetError(errors.New("ManagedIdentityCredential: no identity assigned\nIMDS said 400"))
	o.TokenCredential = cred
	_, err := Discover(context.Background(), o)
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "no identity assigned") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("--arm without a token: %v", err)
	}
	// Outside Azure.
	addr := testtool.Refusing(t).String()
	_, err = Discover(context.Background(), Options{IMDSEndpoint: "http://" + addr, ARM: ARMOn})
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "not running on an Azure VM") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("--arm outside Azure: %v", err)
	}
	// With a token the run goes on.
	o.TokenCredential = &azfake.TokenCredential{}
	d := mustDiscover(t, context.Background(), o)
	if s := d.Wait(context.Background()); !s.Read(snapshot.ReadNIC).OK() {
		t.Fatalf("nic read %+v", s.Read(snapshot.ReadNIC))
	}
}

// A metadata service that cannot be reached is named by what happened, not
// by its URL: --imds-endpoint may carry a query no log may show.
func TestIMDSErrorShowsNoURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o := Options{IMDSEndpoint: "http://" + addr + "/?sig=SECRET", ARM: ARMOff}
	if err := Validate(&o); err != nil {
		t.Fatal(err)
	}
	d := mustDiscover(t, context.Background(), o)
	msg := d.Context().IMDSError
	if msg == "" || strings.Contains(msg, "SECRET") || strings.Contains(msg, "sig=") || !strings.Contains(msg, "refused") {
		t.Fatalf("IMDS error %q", msg)
	}
}

// A Resource Manager that never answers (its port refuses) is no matter of
// permissions: the reads say they got no answer and why, the reads that
// needed them say so too, and the hints send the operator to the network.
func TestUnreachableARMIsNotAPermission(t *testing.T) {
	imds, _ := fakeIMDS(t)
	ap := testtool.Refusing(t)
	addr, port := ap.String(), strconv.Itoa(int(ap.Port()))
	o := Options{IMDSEndpoint: imds.URL, ARMEndpoint: "https://" + addr, TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: "internal"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, s, _ := discoverWait(t, ctx, o)
	for name, want := range map[string]string{
		snapshot.ReadVM:              "got no answer from Resource Manager (refused)",
		snapshot.ReadAPIM:            "got no answer from Resource Manager (refused)",
		snapshot.ReadEffectiveRoutes: "not made: the vm read got no answer from Resource Manager (refused)",
		snapshot.ReadNetworkStatus:   "not made: the apim read got no answer from Resource Manager (refused)",
	} {
		if r := s.Read(name); r == nil || r.Status != snapshot.ReadUnreachable || !strings.Contains(r.Message, want) {
			t.Errorf("%s read: %+v, want unreachable with %q", name, r, want)
		}
	}
	res := runChecks(t, d, o)
	reach := "127.0.0.1 on TCP " + port
	expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "got no answer from Resource Manager (refused)",
		"Let this VM resolve and reach Resource Manager, "+reach+" (service tag AzureResourceManager)")
	expect(t, res, "subnet.config", probes.Skip, probes.ReasonNotObservable, "Let this VM resolve and reach Resource Manager")
	for _, id := range []string{"route.forced-tunnel", "subnet.config", "subnet.nsg.inbound-3443"} {
		if n := res[id].NeedsARM; n == nil || n.Unreachable != reach {
			t.Errorf("%s: NeedsARM %+v, want unreachable %q", id, n, reach)
		}
	}
}

// A connection to Resource Manager that is never answered (a silent drop)
// ends at the check limit, once, not at the run's deadline after retries:
// the reads say it got no answer within --timeout.
func TestDroppedARMEndsAtTheCheckLimit(t *testing.T) {
	imds, _ := fakeIMDS(t)
	var dials atomic.Int32
	dropped := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.ErrDeadlineExceeded}
	}}}
	o := Options{IMDSEndpoint: imds.URL, ARMEndpoint: "https://management.azure.com", ARMTransport: dropped, ConnectTimeout: 100 * time.Millisecond,
		TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: "internal"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, s, took := discoverWait(t, ctx, o)
	if took > 5*time.Second {
		t.Errorf("the reads took %v: a dropped connection must end them, not the deadline", took)
	}
	want := "got no answer from Resource Manager (timeout): the connection was not answered within --timeout 100ms"
	if r := s.Read(snapshot.ReadVM); r == nil || r.Status != snapshot.ReadUnreachable || !strings.Contains(r.Message, want) {
		t.Errorf("vm read %+v, want unreachable with %q", r, want)
	}
	// The first reads (VM, instance, service tags) dial once each; a retry
	// would dial again.
	if n := dials.Load(); n > 3 {
		t.Errorf("%d dials: a connection that timed out was retried", n)
	}
	res := runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Skip, probes.ReasonNotObservable, want, "Let this VM resolve and reach Resource Manager, management.azure.com on TCP 443")
}

// A VM read that is denied leaves the NIC unknown: the reads that need it
// say which read failed and how, and the analyses ask for the permission.
func TestDeniedVMReadIsNamed(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{"GET jumpbox": armError(http.StatusForbidden, "AuthorizationFailed")})
	o := baseOpts(imds.URL, arm)
	d, s, _ := discoverWait(t, context.Background(), o)
	want := "the NIC is unknown: the vm read failed (denied (HTTP 403 AuthorizationFailed): the identity lacks Microsoft.Compute/virtualMachines/read)"
	if r := s.Read(snapshot.ReadEffectiveRoutes); r == nil || r.Status != snapshot.ReadNotTried || r.Message != want {
		t.Errorf("effective-routes read %+v, want not-tried %q", r, want)
	}
	res := runChecks(t, d, o)
	expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "vm read failed (denied (HTTP 403")
	if n := res["route.forced-tunnel"].NeedsARM; n == nil || n.Unreachable != "" {
		t.Errorf("NeedsARM %+v: a denial is not a network matter", n)
	}
}

// Through a proxy (HTTPS_PROXY), a connection that fails is the proxy's:
// the words say so, and it counts as a connection never made.
func TestNoAnswerNamesTheProxy(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://management.azure.com/x", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: syscall.ECONNREFUSED}}
	if !arm.ConnectFailed(err) {
		t.Error("a refused proxy is a connection never made")
	}
	reason, words := probes.Classify(context.Background(), err)
	r := &snapshot.Read{}
	unreachable(r, arm.NoAnswer(reason, words, err))
	if got := r.Message; !strings.HasPrefix(got, "got no answer from Resource Manager (refused): the proxy that HTTPS_PROXY names did not answer") {
		t.Errorf("%q", got)
	}
	direct := &url.Error{Op: "Get", URL: "https://management.azure.com/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	if got := arm.NoAnswer(probes.ReasonRefused, "connection refused", direct); strings.Contains(got, "proxy") {
		t.Errorf("%q names a proxy", got)
	}
}
