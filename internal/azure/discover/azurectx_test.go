package discover

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

// Tests never reach the real IMDS or Entra: IMDS is an httptest server or a
// closed loopback port, and ARM gets the fake token credential (or the IMDS
// token credential pointed at the fake IMDS).

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fakeIMDS(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	doc := fixture(t, "imds.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" {
			http.Error(w, "Required metadata header not specified", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/metadata/instance":
			w.Header().Set("Content-Type", "application/json")
			w.Write(doc)
		case "/metadata/identity/oauth2/token":
			tokens.Add(1)
			if strings.TrimRight(r.URL.Query().Get("resource"), "/") != "https://management.core.windows.net" {
				http.Error(w, "bad resource "+r.URL.Query().Get("resource"), http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"access_token":"tok","expires_on":"` + "4102444800" + `","resource":"https://management.core.windows.net/","token_type":"Bearer"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &tokens
}

// armServer serves the fixtures like Resource Manager; override replaces a
// route's handler ("POST effectiveRouteTable" style keys: method + last path
// element).
type armServer struct {
	*httptest.Server
	override   map[string]http.HandlerFunc
	calls      atomic.Int32
	nsgFixture string
}

func newARM(t *testing.T, override map[string]http.HandlerFunc) *armServer {
	a := &armServer{override: override, nsgFixture: "effective-nsgs.json"}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if h, ok := a.override[r.Method+" "+last]; ok {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/virtualMachines/jumpbox"):
			w.Write(fixture(t, "vm.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/networkInterfaces/jumpbox-nic"):
			w.Write(fixture(t, "nic.json"))
		case r.Method == "POST" && last == "effectiveRouteTable":
			// A long-running operation, as ARM does it: 202 and a Location.
			w.Header().Set("Location", a.URL+"/operations/routes-1")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == "GET" && last == "routes-1":
			w.Write(fixture(t, "effective-routes.json"))
		case r.Method == "POST" && last == "effectiveNetworkSecurityGroups":
			// Real ARM answers 202 with a Location and a literal null body.
			w.Header().Set("Location", a.URL+"/operations/nsgs-1")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte("null"))
		case r.Method == "GET" && last == "nsgs-1":
			w.Write(fixture(t, a.nsgFixture))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/subnets/snet-apim"):
			w.Write(fixture(t, "subnet.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/networkSecurityGroups/nsg-apim"):
			w.Write(fixture(t, "nsg-apim.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/routeTables/rt-apim"):
			w.Write(fixture(t, "rt-apim.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/virtualNetworks/vnet-hub"):
			w.Write(fixture(t, "vnet-hub.json"))
		case r.Method == "GET" && last == "serviceTags":
			w.Write(fixture(t, "service-tags-arm.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/service/contoso/networkstatus"):
			w.Write(fixture(t, "networkstatus.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/service/contoso/outboundNetworkDependenciesEndpoints"):
			w.Write(fixture(t, "outbound-dependencies.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/service/contoso/backends"):
			w.Write(fixture(t, "backends.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/service/contoso/apis"):
			w.Write(fixture(t, "apis.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/contoso"):
			w.Write(fixture(t, "apim.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/providers/Microsoft.Authorization/permissions"):
			w.Write(fixture(t, "permissions.json"))
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/providers/Microsoft.Web"):
			w.Write(fixture(t, "provider-web.json"))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func baseOpts(imds string, arm *armServer) Options {
	return Options{
		IMDSEndpoint: imds, ARMEndpoint: arm.URL, ARMTransport: arm.Client(),
		TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: "internal",
	}
}

// armError answers as Resource Manager refuses a request: the status and
// its error body.
func armError(status int, code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":{"code":"` + code + `","message":"The client does not have authorization"}}`))
	}
}

// mustDiscover is Discover in a test that expects no error.
func mustDiscover(t *testing.T, ctx context.Context, o Options) *Discovery {
	t.Helper()
	d, err := Discover(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// discoverWait runs Discover and waits for its reads (a nil snapshot: ctx
// ended first), and says how long that took.
func discoverWait(t *testing.T, ctx context.Context, o Options) (*Discovery, *snapshot.Snapshot, time.Duration) {
	t.Helper()
	start := time.Now()
	d := mustDiscover(t, ctx, o)
	return d, d.Wait(ctx), time.Since(start)
}

// judgeConfig is the judgements' configuration from a test's Options, as
// the run builds it from its own.
func judgeConfig(o Options) judge.Config {
	return judge.Config{Mode: o.Mode, ModeAuto: o.ModeAuto, Phase: o.Phase, Service: o.Service,
		APIMSubnet: o.APIMSubnet, Region: o.Region}
}

// runChecks judges d with o: Options (a test's) or a judge.Config.
func runChecks(t *testing.T, d snapshot.Source, o any) map[string]probes.Result {
	t.Helper()
	var jc judge.Config
	switch o := o.(type) {
	case Options:
		jc = judgeConfig(o)
	case judge.Config:
		jc = o
	default:
		t.Fatalf("runChecks: %T", o)
	}
	out := map[string]probes.Result{}
	for _, c := range judge.Checks(d, jc) {
		if c.Kind != "analysis" {
			t.Fatalf("%s: kind %q", c.ID, c.Kind)
		}
		var r probes.Result
		if c.Probe == nil {
			r = *c.Preset
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r = c.Probe.Run(ctx)
			cancel()
		}
		if (r.Status == probes.Fail || r.Status == probes.Warn) && r.Hint == "" {
			t.Errorf("%s: %s without hint: %s", c.ID, r.Status, r.Message)
		}
		out[c.ID] = r
	}
	return out
}

func expect(t *testing.T, res map[string]probes.Result, id string, st probes.Status, reason probes.Reason, contains ...string) {
	t.Helper()
	r, ok := res[id]
	if !ok {
		t.Fatalf("%s: no such check", id)
	}
	if r.Status != st || r.Reason != reason {
		t.Errorf("%s: got %s/%s (%s | %s), want %s/%s", id, r.Status, r.Reason, r.Message, r.Hint, st, reason)
	}
	for _, c := range contains {
		if !strings.Contains(r.Message+" | "+r.Hint, c) {
			t.Errorf("%s: %q not in %q | %q", id, c, r.Message, r.Hint)
		}
	}
}

func TestDiscoverFullSnapshot(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	for name, r := range s.Reads {
		if !r.OK() {
			t.Errorf("read %s: %s %s", name, r.Status, r.Message)
		}
	}
	c := d.Context()
	want := map[string][2]string{
		"region":              {c.Region, "westeurope"},
		"subscription_id":     {c.SubscriptionID, "00000000-0000-0000-0000-000000000001"},
		"vm_private_ip":       {c.VMPrivateIP, "10.1.2.4"},
		"subnet":              {c.Subnet, "10.1.2.0/27"},
		"instance_private_ip": {c.InstancePrivateIP, "10.1.2.5"},
		"instance_public_ip":  {c.InstancePublicIP, "20.50.1.2"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if c.Sources["region"] != SourceIMDS || c.Sources["instance_private_ip"] != SourceARM {
		t.Errorf("sources: %v", c.Sources)
	}
	if _, ok := c.Sources["vm_public_ip"]; ok {
		t.Errorf("empty public IP must be left out: %v", c.Sources)
	}
	if len(d.TagPrefixes(context.Background(), "AzureCloud")) != 5 {
		t.Errorf("AzureCloud prefixes: %v", d.TagPrefixes(context.Background(), "AzureCloud"))
	}

	res := runChecks(t, d, o)
	// The appliance takes the default route in halves, the system
	// 0.0.0.0/0 stays Active (azure-facts §11.2); the tag route whose tag
	// the service tag list lacks is named, not dropped.
	expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "10.0.1.4", "0.0.0.0/1", "128.0.0.0/1", "AzureFrontDoor.Backend")
	// 13.64.39.16 by the explicit route, 51.145.179.78 by the UDR whose
	// addressPrefix is "ApiManagement.WestEurope".
	expect(t, res, "route.management-return", probes.Fail, probes.ReasonAsymmetricRoute, "1 of 3", "ApiManagement", "next hop type Internet")
	expect(t, res, "route.dependency.storage", probes.Pass, probes.ReasonOK)
	expect(t, res, "route.dependency.sql", probes.Warn, probes.ReasonForcedTunnel, "Microsoft.Sql")
	// Tag routes with the CIDRs only in tagMap, and in addressPrefix.
	expect(t, res, "route.dependency.monitor", probes.Pass, probes.ReasonOK)
	expect(t, res, "route.dependency.keyvault", probes.Pass, probes.ReasonOK)
	// An admin Allow leaves 3443 to the NSG, which allows it.
	expect(t, res, "subnet.nsg.inbound-3443", probes.Pass, probes.ReasonOK, "AllowApimManagement", "AllowApimControlPlane")
	expect(t, res, "subnet.nsg.inbound-6390", probes.Pass, probes.ReasonOK)
	expect(t, res, "subnet.nsg.inbound-443", probes.Skip, probes.ReasonNotApplicable)
	expect(t, res, "subnet.nsg.outbound-storage-443", probes.Pass, probes.ReasonOK, "AllowStorage")
	// AVNM's AlwaysAllow decides before the NSG's DenyInternetOut.
	expect(t, res, "subnet.nsg.outbound-sql-1433", probes.Pass, probes.ReasonOK, "AlwaysAllowSql", "avnm-hub", "not consulted")
	// Rules scoped to AzureMonitor.WestEurope / AzureKeyVault.WestEurope do
	// not cover the global tags those dependencies need (azure-facts §11.6).
	expect(t, res, "subnet.nsg.outbound-monitor-1886", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "AzureMonitor")
	expect(t, res, "subnet.nsg.outbound-keyvault-443", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "AzureKeyVault")
	expect(t, res, "subnet.nsg.outbound-internet-80", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "below 4000", "nsg-apim")
	expect(t, res, "subnet.config", probes.Pass, probes.ReasonOK)

	// Same snapshot, v2 modes.
	o.Mode = "v2-injected"
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "route.management-return", probes.Skip, probes.ReasonNotApplicable)
	expect(t, res, "subnet.config", probes.Fail, probes.ReasonSubnetConfig, "Microsoft.Web/hostingEnvironments")
	o.Mode = "v2-integrated"
	res = runChecks(t, snapshot.Static{S: s}, o)
	expect(t, res, "subnet.config", probes.Fail, probes.ReasonSubnetConfig, "Microsoft.Web/serverFarms")
	expect(t, res, "subnet.nsg.outbound-keyvault-443", probes.Fail, probes.ReasonNSGRule)
}

func TestFlagsWinOverDiscovery(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	o.Region, o.Subnet, o.PrivateIP = "northeurope", "10.9.0.0/24", "10.9.0.9"
	d := mustDiscover(t, context.Background(), o)
	d.Wait(context.Background())
	c := d.Context()
	if c.Region != "northeurope" || c.Subnet != "10.9.0.0/24" || c.InstancePrivateIP != "10.9.0.9" {
		t.Fatalf("flags lost: %+v", c)
	}
	for _, k := range []string{"region", "subnet", "instance_private_ip"} {
		if c.Sources[k] != SourceFlag {
			t.Errorf("source of %s = %q", k, c.Sources[k])
		}
	}
}

// The managed identity token comes from the configured IMDS, not from
// 169.254.169.254.
func TestManagedIdentityFromConfiguredIMDS(t *testing.T) {
	imds, tokens := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	o.TokenCredential = nil
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if s.TokenError != "" || !s.Read(snapshot.ReadNIC).OK() || tokens.Load() == 0 {
		t.Fatalf("token error %q, nic %+v, tokens %d", s.TokenError, s.Read(snapshot.ReadNIC), tokens.Load())
	}
	// One token for the whole run: the first one, which the pipeline and
	// every armnetwork client's pipeline take too, each of whom asked again
	// on the way of its read.
	if n := tokens.Load(); n != 1 {
		t.Errorf("the metadata service was asked for %d tokens, want 1", n)
	}
	if d.Context().Credential != probes.CredManagedIdentity {
		t.Fatalf("credential %q", d.Context().Credential)
	}
}

func TestDeniedThrottledMalformed(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"POST effectiveRouteTable": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization to perform action 'Microsoft.Network/networkInterfaces/effectiveRouteTable/action'"}}`))
		},
		"POST effectiveNetworkSecurityGroups": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"slow down"}}`))
		},
		"GET snet-apim": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"snet-apim","properties":{"addressPrefix": [1,2`))
		},
	})
	o := baseOpts(imds.URL, arm)
	// A 429 with Retry-After 120 must not be waited for: a read that waited
	// would be cut by this limit, not throttled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := mustDiscover(t, ctx, o)
	s := d.Wait(ctx)
	if r := s.Read(snapshot.ReadEffectiveRoutes); r.Status != snapshot.ReadDenied || r.HTTPStatus != 403 {
		t.Errorf("routes read: %+v", r)
	}
	if r := s.Read(snapshot.ReadEffectiveNSGs); r.Status != snapshot.ReadThrottled || r.RetryAfter != "120" {
		t.Errorf("nsg read: %+v", r)
	}
	if r := s.Read(snapshot.ReadSubnet); r.Status != snapshot.ReadMalformed {
		t.Errorf("subnet read: %+v", r)
	}
	if den := s.Denied(); len(den) != 1 || den[0].Permission != "Microsoft.Network/networkInterfaces/effectiveRouteTable/action" {
		t.Errorf("denied: %+v", den)
	}
	res := runChecks(t, d, o)
	expect(t, res, "route.management-return", probes.Skip, probes.ReasonNotObservable,
		"effectiveRouteTable/action", "az network nic show-effective-route-table -g rg-apim -n jumpbox-nic")
	expect(t, res, "subnet.nsg.inbound-3443", probes.Skip, probes.ReasonNotObservable, "429", "az network nic list-effective-nsg -g rg-apim -n jumpbox-nic")
	expect(t, res, "subnet.config", probes.Skip, probes.ReasonNotObservable, "malformed", "az network vnet subnet show")
}

func TestNoIMDSOutsideAzure(t *testing.T) {
	// A closed loopback port: connection refused at once.
	addr := testtool.Refusing(t).String()
	// Outside Azure discovery ends at once, on the refusal: within this
	// limit, and saying so, not that the limit ended it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := mustDiscover(t, ctx, Options{IMDSEndpoint: "http://" + addr})
	s := d.Wait(ctx)
	if !strings.Contains(d.Context().IMDSError, "refused") {
		t.Errorf("IMDS error %q does not say the connection was refused", d.Context().IMDSError)
	}
	if s.Enabled || d.Context().IMDSError == "" {
		t.Fatalf("snapshot %+v ctx %+v", s, d.Context())
	}
	res := runChecks(t, d, Options{})
	expect(t, res, "route.management-return", probes.Skip, probes.ReasonNotObservable, "managed identity", "az network nic show-effective-route-table")
	expect(t, res, "subnet.nsg.inbound-3443", probes.Skip, probes.ReasonNotObservable, "effectiveNetworkSecurityGroups/action")
}

func TestSilentIMDSIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and never answer
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	d := mustDiscover(t, context.Background(), Options{IMDSEndpoint: "http://" + l.Addr().String(), IMDSTimeout: 300 * time.Millisecond})
	if el := time.Since(start); el > time.Second {
		t.Fatalf("silent IMDS held discovery for %v", el)
	}
	if d.Context().IMDSError == "" {
		t.Fatal("no IMDS error recorded")
	}
}

// The reads get the run's deadline, less a margin: a long-running read
// still going then is recorded as cut by --deadline, the snapshot is
// complete before the deadline, and the configured view stands in for it;
// with the configured reads cut too, the analyses are skips that name the
// deadline and the flag that raises it.
func TestDeadlineCutsSlowReads(t *testing.T) {
	imds, _ := fakeIMDS(t)
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	for _, tc := range []struct {
		name   string
		hangs  map[string]http.HandlerFunc
		expect func(t *testing.T, res map[string]probes.Result)
	}{
		{"effective routes cut", map[string]http.HandlerFunc{"POST effectiveRouteTable": hang}, func(t *testing.T, res map[string]probes.Result) {
			expect(t, res, "route.forced-tunnel", probes.Warn, probes.ReasonForcedTunnel, "configured view of subnet snet-apim",
				"did not finish by the run's --deadline of 20s", "BGP")
			expect(t, res, "subnet.nsg.inbound-3443", probes.Pass, probes.ReasonOK, "effective NSGs")
		}},
		{"everything about routes cut", map[string]http.HandlerFunc{"POST effectiveRouteTable": hang, "GET rt-apim": hang}, func(t *testing.T, res map[string]probes.Result) {
			expect(t, res, "route.forced-tunnel", probes.Skip, probes.ReasonNotObservable, "did not finish by the run's --deadline of 20s", "Raise --deadline")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arm := newARM(t, tc.hangs)
			o := baseOpts(imds.URL, arm)
			o.RunDeadline = 20 * time.Second // named in messages only
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			d, s, took := discoverWait(t, ctx, o)
			if s == nil {
				t.Fatalf("the snapshot was not ready before the deadline (%v)", took)
			}
			if r := s.Read(snapshot.ReadEffectiveRoutes); r.Status != snapshot.ReadTimeout || !strings.Contains(r.Message, "--deadline") {
				t.Fatalf("routes read: %+v", r)
			}
			if !s.Read(snapshot.ReadEffectiveNSGs).OK() {
				t.Fatal("the other reads should have finished")
			}
			tc.expect(t, runChecks(t, d, o))
		})
	}
}

func TestTokenFailureSkips(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, nil)
	o := baseOpts(imds.URL, arm)
	cred := &azfake.TokenCredential{}
	cred.SetError(os.ErrPermission)
	o.TokenCredential = cred
	d, _ := Discover(context.Background(), o)
	s := d.Wait(context.Background())
	if s.TokenError == "" || arm.calls.Load() != 0 {
		t.Fatalf("token error %q, ARM calls %d", s.TokenError, arm.calls.Load())
	}
	res := runChecks(t, d, o)
	expect(t, res, "subnet.config", probes.Skip, probes.ReasonNotObservable, "no Resource Manager token", "subnets/read")
	if n := res["subnet.config"].NeedsARM; n == nil || n.NoToken != probes.CredManagedIdentity || n.Unreachable != "" {
		t.Errorf("NeedsARM %+v, want the managed identity named as giving no token", n)
	}
}

// TestAPIMFoundElsewhereInSubscription: the instance is not in the VM's
// resource group (the direct GET there is a 404), so readAPIM must search the
// subscription (findAPIM), follow the list's nextLink, skip instances with
// other names, and use the one found in another resource group.
func TestAPIMFoundElsewhereInSubscription(t *testing.T) {
	imds, _ := fakeIMDS(t)
	const sub = "00000000-0000-0000-0000-000000000001"
	var direct, pages atomic.Int32
	var arm *armServer
	// The instance elsewhere differs from the fixture in rg-apim in every
	// value the context takes from it.
	elsewhere := `{"id":"/subscriptions/` + sub + `/resourceGroups/rg-other/providers/Microsoft.ApiManagement/service/contoso",
		"name":"contoso","location":"North Europe","sku":{"name":"Developer","capacity":1},
		"properties":{"gatewayUrl":"https://contoso.azure-api.net","privateIPAddresses":["10.7.0.5"],"publicIPAddresses":["20.60.1.9"],
		"virtualNetworkType":"Internal","virtualNetworkConfiguration":{"subnetResourceId":"/subscriptions/` + sub + `/resourceGroups/rg-other/providers/Microsoft.Network/virtualNetworks/vnet-b/subnets/snet-b"}}}`
	decoy := func(name, ip string) string {
		return `{"id":"/subscriptions/` + sub + `/resourceGroups/rg-x/providers/Microsoft.ApiManagement/service/` + name + `","name":"` + name +
			`","sku":{"name":"Premium","capacity":3},"properties":{"privateIPAddresses":["` + ip + `"]}}`
	}
	arm = newARM(t, map[string]http.HandlerFunc{
		// The VM's resource group has no such instance.
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			direct.Add(1)
			if !strings.Contains(r.URL.Path, "/resourceGroups/rg-apim/") {
				t.Errorf("direct GET outside the VM's resource group: %s", r.URL.Path)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.ApiManagement/service/contoso' under resource group 'rg-apim' was not found."}}`))
		},
		// The subscription's list, in two pages.
		"GET service": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/subscriptions/"+sub+"/providers/Microsoft.ApiManagement/service" {
				t.Errorf("list path %s", r.URL.Path)
			}
			pages.Add(1)
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Get("$skiptoken") == "" {
				next := arm.URL + r.URL.Path + "?api-version=2024-05-01&$skiptoken=p2"
				w.Write([]byte(`{"value":[` + decoy("contoso-dev", "10.9.9.9") + `,` + decoy("other", "10.8.8.8") + `],"nextLink":"` + next + `"}`))
				return
			}
			w.Write([]byte(`{"value":[` + decoy("contoso2", "10.6.6.6") + `,` + elsewhere + `]}`))
		},
	})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if direct.Load() != 1 || pages.Load() != 2 {
		t.Fatalf("direct GETs %d, list pages %d: want the 404 in rg-apim, then both pages of the subscription's list", direct.Load(), pages.Load())
	}
	if r := s.Read(snapshot.ReadAPIM); !r.OK() {
		t.Fatalf("apim read: %+v", r)
	}
	a := s.APIM
	if a == nil {
		t.Fatal("no instance recorded")
	}
	if !strings.Contains(a.ID, "/resourceGroups/rg-other/") || a.Name != "contoso" || a.SKU != "Developer" || a.Capacity != 1 ||
		!slices.Equal(a.PrivateIPs, []string{"10.7.0.5"}) || !slices.Equal(a.PublicIPs, []string{"20.60.1.9"}) ||
		!strings.HasSuffix(a.SubnetID, "/subnets/snet-b") || !slices.Equal(a.HostNames, []string{"contoso.azure-api.net"}) {
		t.Fatalf("not the instance found elsewhere: %+v", a)
	}
	c := d.Context()
	if c.InstancePrivateIP != "10.7.0.5" || c.InstancePublicIP != "20.60.1.9" ||
		c.Sources["instance_private_ip"] != SourceARM || c.Sources["instance_public_ip"] != SourceARM {
		t.Fatalf("context does not use the instance found elsewhere: private %q public %q sources %v",
			c.InstancePrivateIP, c.InstancePublicIP, c.Sources)
	}
}

// An instance that exists nowhere in the subscription is a not-found read,
// not an error and not another instance.
func TestAPIMNotInSubscription(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
		},
		"GET service": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":[{"id":"/subscriptions/x/resourceGroups/rg-x/providers/Microsoft.ApiManagement/service/contoso-dev","name":"contoso-dev","properties":{"privateIPAddresses":["10.9.9.9"]}}]}`))
		},
	})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if r := s.Read(snapshot.ReadAPIM); r == nil || r.Status != snapshot.ReadNotFound || s.APIM != nil {
		t.Fatalf("apim read %+v, instance %+v", r, s.APIM)
	}
	if c := d.Context(); c.InstancePrivateIP != "" {
		t.Fatalf("instance private IP %q from an instance of another name", c.InstancePrivateIP)
	}
}

func TestWaitHonoursCtxAndRunDeadline(t *testing.T) {
	d := &Discovery{done: make(chan struct{})} // never finishes
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(probes.ErrRunDeadline)
	var c probes.Check
	for _, ch := range judge.Checks(d, judge.Config{}) {
		if ch.ID == "subnet.config" {
			c = ch
		}
	}
	if r := c.Probe.Run(ctx); r.Status != probes.Fail || r.Reason != probes.ReasonDeadline {
		t.Fatalf("run deadline: %+v", r)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if r := c.Probe.Run(ctx2); r.Status != probes.Skip || r.Reason != probes.ReasonNotObservable {
		t.Fatalf("check timeout: %+v", r)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"values": [ {"name": "X", "properties": {"addressPrefixes": ["not-a-cidr"]}} ]}`), 0o644)
	trunc := filepath.Join(dir, "trunc.json")
	os.WriteFile(trunc, []byte(`{"changeNumber": 1, "values": [`), 0o644)
	unreadable := filepath.Join(dir, "secret.json")
	os.WriteFile(unreadable, []byte(`{}`), 0o000)
	cases := []struct {
		o    Options
		want string
	}{
		{Options{ARMEndpoint: "http://management.azure.com"}, "must be https"},
		{Options{ARMEndpoint: "management.azure.com"}, "--arm-endpoint"},
		{Options{IMDSEndpoint: "169.254.169.254"}, "--imds-endpoint"},
		{Options{Cloud: "germany"}, "--cloud"},
		{Options{Credential: "password"}, "--arm-credential"},
		{Options{ManagedIdentityClientID: "my-identity"}, "--identity-client-id"},
		{Options{ManagedIdentityClientID: "{6f1c2a0e-1b7d-4c52-9a55-0c2f8e4d7b11}"}, "want a client id"},
		{Options{Credential: probes.CredAzureCLI, ManagedIdentityClientID: "6f1c2a0e-1b7d-4c52-9a55-0c2f8e4d7b11"}, "azure-cli"},
		{Options{Credential: probes.CredDefault, ManagedIdentityClientID: "6f1c2a0e-1b7d-4c52-9a55-0c2f8e4d7b11"}, "AZURE_CLIENT_ID"},
		{Options{ServiceTagsFile: bad}, "not-a-cidr"},
		{Options{ServiceTagsFile: trunc}, "not a service tags JSON document"},
		{Options{ServiceTagsFile: filepath.Join(dir, "missing.json")}, "no such file"},
		{Options{ServiceTagsFile: dir}, "(a directory)"},
	}
	if os.Geteuid() != 0 {
		cases = append(cases, struct {
			o    Options
			want string
		}{Options{ServiceTagsFile: unreadable}, "permission denied"})
	}
	for _, c := range cases {
		err := Validate(&c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: got %v, want a one-line error containing %q", c.o, err, c.want)
		}
	}
	for _, ok := range []Options{
		{ARMEndpoint: "https://management.usgovcloudapi.net", Cloud: "usgov"},
		{Credential: probes.CredManagedIdentity, ManagedIdentityClientID: "6F1C2A0E-1B7D-4C52-9A55-0C2F8E4D7B11"},
		{ManagedIdentityClientID: "6f1c2a0e-1b7d-4c52-9a55-0c2f8e4d7b11"},
	} {
		if err := Validate(&ok); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

// BenchmarkDiscoverAllReads: IMDS plus every ARM read (VM, NIC, effective
// routes and NSGs with a 202 and one poll, the subnet, its NSG and route
// table, the VNet, service tags, APIM) against loopback fixtures. The poll
// comes 50 ms after the 202 (the schedule of arm.PollUntilDone), so this is dominated by it.
func BenchmarkDiscoverAllReads(b *testing.B) {
	benchDiscover(b, nil, ARMAuto)
}

// BenchmarkDiscoverARMAtOnce: the same reads with Resource Manager
// answering at once (the long-running reads complete with 200): what the
// ARM half costs a run's wall time at most, since it runs beside the
// probes. Compare BenchmarkDiscoverNoARM.
func BenchmarkDiscoverARMAtOnce(b *testing.B) {
	t := &testing.T{}
	at := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(fixture(t, name))
		}
	}
	benchDiscover(b, map[string]http.HandlerFunc{
		"POST effectiveRouteTable":            at("effective-routes.json"),
		"POST effectiveNetworkSecurityGroups": at("effective-nsgs.json"),
	}, ARMAuto)
}

// BenchmarkDiscoverNoARM: IMDS alone (--no-arm), the baseline.
func BenchmarkDiscoverNoARM(b *testing.B) {
	benchDiscover(b, nil, ARMOff)
}

func benchDiscover(b *testing.B, override map[string]http.HandlerFunc, mode ARMMode) {
	t := &testing.T{}
	imds, _ := fakeIMDS(t)
	arm := newARM(t, override)
	o := baseOpts(imds.URL, arm)
	o.ARM = mode
	for b.Loop() {
		d, err := Discover(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		s := d.Wait(context.Background())
		if mode != ARMOff && (!s.Read(snapshot.ReadEffectiveRoutes).OK() || !s.Read(snapshot.ReadVNet).OK()) {
			b.Fatal(s.Read(snapshot.ReadEffectiveRoutes), s.Read(snapshot.ReadVNet))
		}
	}
}
