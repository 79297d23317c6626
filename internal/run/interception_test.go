package run

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/probes"
)

func tlsOK(id, target string, required bool) probes.Outcome {
	return probes.Outcome{
		Check:  probes.Check{ID: id, Target: hostPort(target), Required: required, Kind: probes.KindTLS},
		Result: probes.Result{Status: probes.Pass, Reason: probes.ReasonOK, Phases: map[string]int64{"tls_ms": 12}},
	}
}

func intercepted(id, target string, required bool, issuer string) probes.Outcome {
	st := probes.Warn
	if required {
		st = probes.Fail
	}
	return probes.Outcome{
		Check: probes.Check{ID: id, Target: hostPort(target), Required: required, Kind: probes.KindTLS},
		Result: probes.Result{Status: st, Reason: probes.ReasonTLSIntercepted, FailedPhase: probes.PhaseTLS,
			Cert: &probes.CertSeen{Issuer: issuer, Root: issuer + " Root", Subject: "CN=" + strings.Split(target, ":")[0], Intercepted: true}},
	}
}

func pathWarn(id, target, appliance string) probes.Outcome {
	return probes.Outcome{
		Check: probes.Check{ID: id, Target: hostPort(target),
			Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RolePathTrace}},
		Result: probes.Result{Status: probes.Warn, Reason: probes.ReasonForcedTunnel, Appliance: appliance},
	}
}

func egressWarn(ip string) probes.Outcome {
	return probes.Outcome{
		Check: probes.Check{ID: "route.egress-ip", Target: probes.URLTarget("https://echo.example/"),
			Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}},
		Result: probes.Result{Status: probes.Warn, Reason: probes.ReasonForcedTunnel, EgressIP: ip},
	}
}

func TestInterceptionSummary(t *testing.T) {
	clean := []probes.Outcome{
		tlsOK("outbound.storage.blob", "acct.blob.core.windows.net:443", true),
		tlsOK("outbound.monitor.metrics", "https://gcs.prod.monitoring.core.windows.net/", false),
	}
	o := InterceptionSummary(clean)
	if o.Check.ID != InterceptionCheckID || o.Check.Category != "TLS inspection" || o.Result.Status != probes.Pass ||
		o.Check.Preset == nil || o.Check.Preset.Status != probes.Pass || o.Result.Evidence["tls_checks_completed"] != 2 {
		t.Errorf("clean run: %+v", o)
	}

	optional := append(clean, intercepted("outbound.monitor.logs", "global.handler.control.monitor.azure.com:443", false, "Contoso CA"))
	o = InterceptionSummary(optional)
	if o.Result.Status != probes.Warn || o.Result.Reason != probes.ReasonTLSIntercepted ||
		!strings.Contains(o.Result.Hint, "global.handler.control.monitor.azure.com") {
		t.Errorf("optional only: %+v", o.Result)
	}

	required := append(optional,
		intercepted("outbound.sql", "srv.database.windows.net:1433", true, "Contoso CA"),
		intercepted("outbound.keyvault", "https://kv.vault.azure.net/", true, "Contoso CA"))
	o = InterceptionSummary(required)
	r := o.Result
	if r.Status != probes.Fail || r.Reason != probes.ReasonTLSIntercepted || r.FailedPhase != probes.PhaseTLS {
		t.Fatalf("required: %+v", r)
	}
	for _, h := range []string{"srv.database.windows.net", "kv.vault.azure.net", "global.handler.control.monitor.azure.com"} {
		if !strings.Contains(r.Hint, h) || !strings.Contains(r.Message, h) {
			t.Errorf("%s missing from hint or message: %s | %s", h, r.Hint, r.Message)
		}
	}
	if !strings.Contains(r.Message, `"Contoso CA Root"`) || !strings.Contains(r.Hint, "Exempt") {
		t.Errorf("message lacks root or hint lacks the fix: %s | %s", r.Message, r.Hint)
	}
	list := r.Evidence["intercepted"].([]Intercepted)
	if len(list) != 3 || list[0].CheckID != "outbound.keyvault" || list[0].Issuer != "Contoso CA" || !list[0].Required {
		t.Errorf("intercepted list: %+v", list)
	}
	// The summary ignores an earlier summary among the outcomes.
	if again := InterceptionSummary(append(required, o)); len(again.Result.Evidence["intercepted"].([]Intercepted)) != 3 {
		t.Error("summary counted itself")
	}

	// No handshake completed: a TCP-only run, handshakes that timed out,
	// and the echo service (not an Azure host) do not count.
	none := []probes.Outcome{
		{Check: probes.Check{ID: "outbound.sql", Kind: "tcp"}, Result: probes.Result{Status: probes.Pass, Phases: map[string]int64{"connect_ms": 3}}},
		{Check: probes.Check{ID: "outbound.storage.blob", Kind: "tls"}, Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseTLS, Phases: map[string]int64{"tls_ms": 5000}}},
		{Check: probes.Check{ID: "route.egress-ip", Kind: "http", Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleEgressEcho}}, Result: probes.Result{Status: probes.Pass, Phases: map[string]int64{"tls_ms": 20}}},
		{Check: probes.Check{ID: "outbound.keyvault", Target: probes.HostPort("kv.vault.azure.net", 443)}, Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonTLSUntrusted, FailedPhase: probes.PhaseTLS}},
	}
	o = InterceptionSummary(none)
	if o.Result.Status != probes.Skip || o.Result.Reason != probes.ReasonNoData || !strings.Contains(o.Result.Message, "kv.vault.azure.net") {
		t.Errorf("nothing completed: %+v", o.Result)
	}
	if o := InterceptionSummary(nil); o.Result.Status != probes.Skip {
		t.Errorf("empty run: %+v", o.Result)
	}
}

func TestHeadline(t *testing.T) {
	cases := []struct {
		name     string
		outcomes []probes.Outcome
		want     []string
		not      []string
	}{
		{"nothing to say", []probes.Outcome{tlsOK("outbound.sql", "s.database.windows.net:1433", true)}, nil, nil},
		{
			"appliance that inspects and tunnels",
			[]probes.Outcome{
				pathWarn("route.path.storage", "acct.blob.core.windows.net:443", "10.0.0.4"),
				pathWarn("route.path.sql", "srv.database.windows.net:1433", "10.0.0.4"),
				intercepted("outbound.storage.blob", "acct.blob.core.windows.net:443", true, "Contoso CA"),
				egressWarn("203.0.113.9"),
			},
			[]string{"appliance at 10.0.0.4", "most likely inspects TLS", `"Contoso CA"`, "acct.blob.core.windows.net", "203.0.113.9", "not an Azure address"},
			nil,
		},
		{
			"appliance on another path than the inspected host",
			[]probes.Outcome{
				pathWarn("route.path.sql", "srv.database.windows.net:1433", "10.0.0.4"),
				intercepted("outbound.keyvault", "kv.vault.azure.net:443", true, "Contoso CA"),
			},
			[]string{"appliance at 10.0.0.4", "TLS is inspected somewhere", "kv.vault.azure.net"},
			[]string{"most likely", "leaves"},
		},
		{
			"inspection without a visible appliance",
			[]probes.Outcome{intercepted("outbound.keyvault", "kv.vault.azure.net:443", true, "Contoso CA"), egressWarn("203.0.113.9")},
			[]string{"TLS to Azure is inspected", "203.0.113.9"},
			[]string{"appliance"},
		},
		{
			"egress alone",
			[]probes.Outcome{egressWarn("203.0.113.9")},
			[]string{"203.0.113.9", "egress address alone"},
			[]string{"appliance", "inspect"},
		},
	}
	for _, tc := range cases {
		h := Headline(tc.outcomes)
		if tc.want == nil {
			if h != "" {
				t.Errorf("%s: headline %q, want none", tc.name, h)
			}
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(h, w) {
				t.Errorf("%s: %q lacks %q", tc.name, h, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(h, n) {
				t.Errorf("%s: %q says %q without evidence", tc.name, h, n)
			}
		}
		if strings.Count(h, ".") < 1 || !strings.HasSuffix(h, ".") || strings.Contains(h, "\n") {
			t.Errorf("%s: not one sentence: %q", tc.name, h)
		}
		t.Logf("%s: %s", tc.name, h)
	}
}

// hostPort makes a test's "host:port" (or URL) a target.
func hostPort(s string) probes.Target {
	if strings.Contains(s, "://") {
		return probes.URLTarget(s)
	}
	h, p, _ := net.SplitHostPort(s)
	port, _ := strconv.Atoi(p)
	return probes.HostPort(h, port)
}

// instance.dependencies is one check of many hosts: its intercepted hosts
// are listed one by one, with the certificate seen, and the check itself
// never as a host without a name.
func TestInstanceDependenciesInterceptedByHost(t *testing.T) {
	cert := &probes.CertSeen{Issuer: "CN=Fw CA", Root: "CN=Fw CA", Intercepted: true}
	deps := []depSeen{
		{Host: "apikv.vault.azure.net", Port: 443, Required: true, Status: probes.Fail, Reason: probes.ReasonTLSIntercepted, cert: cert},
		{Host: "st1.blob.core.windows.net", Port: 443, Required: true, Status: probes.Pass, Reason: probes.ReasonOK},
	}
	whole := probes.Outcome{
		Check:  probes.Check{ID: idInstanceDeps, Kind: probes.KindAnalysis, Required: true, Target: probes.Subject("the instance's outboundNetworkDependenciesEndpoints")},
		Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonTLSIntercepted, FailedPhase: probes.PhaseTLS},
	}
	parts, all := interceptedParts(deps)
	if !all || len(parts) != 1 || parts[0].Check.Target.Host != "apikv.vault.azure.net" || parts[0].Result.Cert != cert {
		t.Fatalf("parts %+v, all %v", parts, all)
	}
	o := InterceptionSummary(append([]probes.Outcome{whole, intercepted("outbound.keyvault", "kv.vault.azure.net:443", true, "CN=Fw CA")}, parts...))
	if !strings.HasPrefix(o.Result.Message, "TLS to 2 Azure host(s)") || strings.Contains(o.Result.Message, ":  (") ||
		o.Result.Hint != "Exempt these FQDNs from TLS inspection on the firewall or proxy: apikv.vault.azure.net, kv.vault.azure.net." {
		t.Errorf("%s | %s", o.Result.Message, o.Result.Hint)
	}
	// Another cause among the hosts: the diagnosis must not take the whole
	// check for an interception.
	deps = append(deps, depSeen{Host: "sql1.database.windows.net", Port: 1433, Required: true, Status: probes.Fail, Reason: probes.ReasonTimeout})
	if _, all := interceptedParts(deps); all {
		t.Error("a timed-out host was taken for an interception")
	}
}

// Interception has one definition: the summary check, the headline and the
// inspection finding name the same hosts, and a TLS failure of another
// kind (an untrusted chain) is in none of them.
func TestInterceptionOneDefinition(t *testing.T) {
	outs := []probes.Outcome{
		intercepted("outbound.keyvault", "kv.vault.azure.net:443", true, "CN=Fw CA"),
		intercepted("outbound.storage.blob", "acct.blob.core.windows.net:443", true, "CN=Fw CA"),
		{Check: probes.Check{ID: "outbound.sql", Target: hostPort("srv.database.windows.net:1433"), Kind: probes.KindTLS, Required: true},
			Result: probes.Result{Status: probes.Fail, Reason: probes.ReasonTLSUntrusted, FailedPhase: probes.PhaseTLS,
				Cert: &probes.CertSeen{Issuer: "CN=Other"}}},
	}
	sum := InterceptionSummary(outs)
	var listed []string
	for _, i := range sum.Result.Evidence["intercepted"].([]Intercepted) {
		listed = append(listed, i.Host)
	}
	head := Headline(outs)
	fs := findings.Diagnose(findings.Input{Outcomes: append(outs, sum)})
	if len(fs) != 1 || fs[0].ID != findings.IDTLSInspection {
		t.Fatalf("findings %+v", fs)
	}
	hosts := fs[0].Evidence["hosts"].([]string)
	if strings.Join(listed, ",") != "kv.vault.azure.net,acct.blob.core.windows.net" ||
		strings.Join(hosts, ",") != "kv.vault.azure.net,acct.blob.core.windows.net" ||
		!strings.Contains(head, "kv.vault.azure.net and acct.blob.core.windows.net") || strings.Contains(head, "srv.database") ||
		!slices.Contains(fs[0].Checks, "tls.interception") {
		t.Errorf("summary %v, finding %v %v, headline %q", listed, hosts, fs[0].Checks, head)
	}
}
