package run

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

// The tests run whole runs on loopback: a miekg/dns server stands in for the
// VNet's resolver and Azure DNS, httptest servers for the metadata service
// and Resource Manager. Every address dialled is 127.0.0.1.

// dnsServer answers A questions from records (name → address) and NXDOMAIN
// otherwise, on UDP and TCP at one loopback port.
func dnsServer(t *testing.T, records map[string]string) netip.AddrPort {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		if a, ok := records[strings.TrimSuffix(name, ".")]; ok {
			if q.Question[0].Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(a)})
			}
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// closedURL is an http URL on a loopback port nothing listens on: the
// metadata service "outside Azure", refused at once.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "azure", "discover", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imdsServer serves the metadata fixture: subscription, resource group,
// subnet 10.1.2.0/27.
func imdsServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" || r.URL.Path != "/metadata/instance" {
			http.NotFound(w, r)
			return
		}
		w.Write(fixture(t, "imds.json"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// armServer answers only the instance's read (VIP 10.1.2.5), after delay;
// every other read is 404, as for resources the identity cannot see.
func armServer(t *testing.T, delay time.Duration, apimReads *atomic.Int32) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/Microsoft.ApiManagement/service/contoso") {
			apimReads.Add(1)
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			w.Write(fixture(t, "apim.json"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"ResourceNotFound","message":"not here"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// baseConfig is a run that reaches nothing but loopback.
func baseConfig(t *testing.T, dnsAddr netip.AddrPort) Config {
	resolvConf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver "+dnsAddr.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Mode: probes.ModeInternal, Phase: probes.DeployPost, Cloud: probes.CloudPublic,
		ResolvConf: resolvConf, DNSServers: []netip.AddrPort{dnsAddr}, AzureDNS: dnsAddr,
		EgressEchoURL: "https://echo.test/",
		Azure:         azdiscover.Options{IMDSEndpoint: closedURL(t), ARM: azdiscover.ARMOff},
		Timeout:       400 * time.Millisecond, Deadline: 5 * time.Second, Concurrency: 32,
		Tool: report.Tool{Name: "apimprobe"}, Log: zerolog.Nop(),
	}
	return cfg
}

func ids(checks []probes.Check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func reportIDs(r *report.Report) []string {
	var out []string
	for _, c := range r.Checks {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func byID(r *report.Report) map[string]report.Check {
	m := map[string]report.Check{}
	for _, c := range r.Checks {
		m[c.ID] = c
	}
	return m
}

// plan prints what run would check: for the same inputs, the same ids.
func TestPlanAndRunListTheSameChecks(t *testing.T) {
	dnsAddr := dnsServer(t, nil)
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no inputs", func(*Config) {}},
		{"internal post, every input", func(c *Config) {
			c.Service, c.StorageAccount, c.SQLServer, c.KeyVault, c.Region = "contoso", "acct", "sqlsrv", "kv1", "westeurope"
		}},
		{"external pre", func(c *Config) { c.Mode, c.Phase, c.Service = probes.ModeExternal, probes.DeployPre, "contoso" }},
		{"v2-injected auto", func(c *Config) { c.Mode, c.Phase, c.Service = probes.ModeV2Injected, probes.DeployAuto, "contoso" }},
		{"v2-integrated, china, no egress", func(c *Config) {
			c.Mode, c.Cloud, c.NoEgress, c.SQLServer = probes.ModeV2Integrated, probes.CloudChina, true, "sqlsrv"
		}},
		{"selected", func(c *Config) { c.Only, c.Skip = []string{"outbound", "tls.*"}, []string{"outbound.monitor.*"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t, dnsAddr)
			tc.edit(&cfg)
			planned, rep := planAndRun(t, cfg)
			p, r := ids(planned), reportIDs(rep)
			if !slices.Equal(p, r) {
				t.Fatalf("plan and run disagree:\nplan: %v\nrun:  %v", p, r)
			}
			if !slices.Contains(p, "tls.interception") && len(cfg.Only) == 0 {
				t.Fatalf("tls.interception missing from plan: %v", p)
			}
			for _, c := range planned {
				if c.Target.String() == "" {
					t.Errorf("%s has no target", c.ID)
				}
				// plan prints the source to the user: a public document,
				// never a file of ours that the user does not have.
				if strings.Contains(c.Source, ".md §") || strings.Contains(c.Source, "SPEC") || strings.Contains(c.Source, "azure-facts") {
					t.Errorf("%s cites %q", c.ID, c.Source)
				}
			}
		})
	}
}

// The instance's VIP that Resource Manager tells reaches the DNS checks:
// an answer inside the subnet that is not the VIP fails dns.gateway, with
// no --private-ip, although the ARM read comes after the DNS answer.
func TestGatewayJudgedAgainstTheVIPFromResourceManager(t *testing.T) {
	dnsAddr := dnsServer(t, map[string]string{"contoso.azure-api.net": "10.1.2.9"})
	var reads atomic.Int32
	arm := armServer(t, 300*time.Millisecond, &reads)
	cfg := baseConfig(t, dnsAddr)
	cfg.Service, cfg.Only = "contoso", []string{"dns.gateway"}
	cfg.Timeout = 2 * time.Second
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}

	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	gw := byID(rep)["dns.gateway"]
	if gw.Status != probes.Fail || gw.Reason != probes.ReasonWrongAnswer || !strings.Contains(gw.Message+gw.Hint, "10.1.2.5") {
		t.Fatalf("dns.gateway = %s/%s: %s | %s", gw.Status, gw.Reason, gw.Message, gw.Hint)
	}
	if reads.Load() == 0 {
		t.Fatal("Resource Manager's instance read was never made")
	}
	if rep.Context.InstancePrivateIP != "10.1.2.5" || rep.Context.Sources["instance_private_ip"] != "arm" {
		t.Fatalf("context %+v", rep.Context)
	}

	// The same answer without Resource Manager is in the subnet and passes,
	// saying what it could not know.
	cfg.Azure = azdiscover.Options{IMDSEndpoint: cfg.Azure.IMDSEndpoint, ARM: azdiscover.ARMOff}
	rep, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if gw := byID(rep)["dns.gateway"]; gw.Status != probes.Pass {
		t.Fatalf("without ARM: dns.gateway = %s/%s: %s", gw.Status, gw.Reason, gw.Message)
	}
}

// When Resource Manager does not tell the VIP within the check's limit, the
// check judges without it and says so, still within its limit.
func TestGatewayJudgedWithoutASlowResourceManager(t *testing.T) {
	dnsAddr := dnsServer(t, map[string]string{"contoso.azure-api.net": "10.1.2.9"})
	var reads atomic.Int32
	arm := armServer(t, 5*time.Second, &reads)
	cfg := baseConfig(t, dnsAddr)
	cfg.Service, cfg.Only = "contoso", []string{"dns.gateway"}
	cfg.Timeout = 500 * time.Millisecond
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	gw := byID(rep)["dns.gateway"]
	if gw.Status != probes.Pass || !strings.Contains(gw.Message, "judged without the instance's private VIP") {
		t.Fatalf("dns.gateway = %s/%s: %s", gw.Status, gw.Reason, gw.Message)
	}
	if gw.DurationMS > 500 {
		t.Fatalf("the check took %d ms, past its 500 ms limit", gw.DurationMS)
	}
}

// The report's context says where each value came from, and the phase
// decided at run time.
func TestReportContextFromDiscovery(t *testing.T) {
	dnsAddr := dnsServer(t, nil)
	cfg := baseConfig(t, dnsAddr)
	cfg.Service, cfg.Phase, cfg.Only = "contoso", probes.DeployAuto, []string{"dns.gateway"}
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOff, Region: "northeurope"}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Context
	if c.Phase != probes.DeployPre || c.Sources["phase"] != "auto" {
		t.Errorf("phase %q from %q: the gateway resolves nowhere, so auto is pre", c.Phase, c.Sources["phase"])
	}
	if c.Region != "northeurope" || c.Sources["region"] != "flag" || c.Subnet != "10.1.2.0/27" || c.Sources["subnet"] != "imds" {
		t.Errorf("context %+v", c)
	}
	if len(c.Resolvers) != 1 || c.Resolvers[0] != dnsAddr.String() {
		t.Errorf("resolvers %v", c.Resolvers)
	}
	if gw := byID(rep)["dns.gateway"]; gw.Status != probes.Skip || gw.Reason != probes.ReasonNotApplicable {
		t.Errorf("dns.gateway before deployment = %s/%s", gw.Status, gw.Reason)
	}
}

// A selection that leaves nothing is an error that names the closest ids,
// for plan and run alike.
func TestEmptySelection(t *testing.T) {
	cfg := baseConfig(t, dnsServer(t, nil))
	for _, tc := range []struct {
		only, skip []string
		want       string
	}{
		{[]string{"outbound.sq"}, nil, "closest ids: outbound.sql"},
		{[]string{"dns.gatway"}, nil, "closest ids: dns.gateway"},
		{nil, []string{"*"}, `--skip "*" leaves no check`},
	} {
		cfg.Only, cfg.Skip = tc.only, tc.skip
		_, perr := Plan(cfg)
		_, rerr := Run(context.Background(), cfg)
		for _, err := range []error{perr, rerr} {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("only %v skip %v: %v, want %q", tc.only, tc.skip, err, tc.want)
			}
		}
	}
}

// A run leaves nothing of itself running: Resource Manager reads still
// waiting when the checks are done, the resolvers' questions, idle
// connections.
func TestNothingOutlivesTheRun(t *testing.T) {
	dnsAddr := dnsServer(t, map[string]string{"contoso.azure-api.net": "10.1.2.9"})
	var reads atomic.Int32
	arm := armServer(t, 3*time.Second, &reads)
	imds := imdsServer(t)
	cfg := baseConfig(t, dnsAddr)
	cfg.Service = "contoso"
	cfg.Timeout = 300 * time.Millisecond
	cfg.Deadline = time.Second
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imds, ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal}
	if err := azdiscover.Validate(&cfg.Azure); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var after int
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines after the run, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
}

// --event-hub reaches the catalogue, and the path traces (TCP SYNs) pick
// only dependencies reached over TCP: the NTP check's UDP 123 is never the
// one a family's trace aims at.
func TestEventHubInputAndTCPOnlyPathTraces(t *testing.T) {
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.EventHub, cfg.Mode, cfg.Region = "contoso-logs", probes.ModeInternal, "westeurope"
	planned, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]probes.Check{}
	for _, c := range planned {
		byID[c.ID] = c
	}
	if c := byID["outbound.eventhub.amqps"]; c.Probe == nil || c.Target.String() != "contoso-logs.servicebus.windows.net:5671" {
		t.Errorf("event hub entry %+v", c)
	}
	if c := byID["outbound.infra.ntp"]; c.Kind != probes.KindNTP || !c.Required {
		t.Errorf("ntp entry %+v", c)
	}
	traced := 0
	for _, c := range planned {
		if !strings.HasPrefix(c.ID, "route.path.") {
			continue
		}
		traced++
		if c.Target.Port == 123 || c.Target.Port == 0 {
			t.Errorf("%s traces %s", c.ID, c.Target)
		}
	}
	if _, ok := byID["route.path.infra"]; !ok || traced == 0 {
		t.Errorf("no path trace for the infra family (%d traces)", traced)
	}
}

// planAndRun plans and runs cfg, the report checked against the schema.
func planAndRun(t *testing.T, cfg Config) ([]probes.Check, *report.Report) {
	t.Helper()
	planned, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	schematest.ValidateReport(t, rep)
	return planned, rep
}
