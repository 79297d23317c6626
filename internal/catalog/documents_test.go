package catalog

import (
	"strconv"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// The entries the current documents add (issue 11): the internal
// infrastructure of classic tiers, certificate validation on 443,
// login.windows.net, Event Hubs, and the v2 requirements of §11.5.

var infraIDs = map[string]struct {
	kind probes.Kind
	host string
	port int
}{
	"outbound.infra.ntp":                 {probes.KindNTP, "time.windows.com", 123},
	"outbound.infra.watson":              {probes.KindTLS, "azurewatsonanalysis-prod.core.windows.net", 443},
	"outbound.infra.telemetry":           {probes.KindTLS, "v10.events.data.microsoft.com", 443},
	"outbound.infra.profiler":            {probes.KindTLS, "azureprofiler.trafficmanager.net", 443},
	"outbound.infra.manifest-azurecdn":   {probes.KindTLS, "shavamanifestazurecdnprod1.azureedge.net", 443},
	"outbound.infra.manifest-cdn":        {probes.KindTLS, "shavamanifestcdnprod1.azureedge.net", 443},
	"outbound.infra.pki":                 {probes.KindTLS, "issuer.pki.azure.com", 443},
	"outbound.infra.update":              {probes.KindTLS, "sls.update.microsoft.com", 443},
	"outbound.infra.update.80":           {probes.KindHTTP, "sls.update.microsoft.com", 80},
	"outbound.infra.update-ctldl":        {probes.KindTLS, "ctldl.windowsupdate.com", 443},
	"outbound.infra.update-ctldl.80":     {probes.KindHTTP, "ctldl.windowsupdate.com", 80},
	"outbound.infra.update-download":     {probes.KindTLS, "download.windowsupdate.com", 443},
	"outbound.infra.update-download.80":  {probes.KindHTTP, "download.windowsupdate.com", 80},
	"outbound.infra.go-microsoft":        {probes.KindTLS, "go.microsoft.com", 443},
	"outbound.infra.go-microsoft.80":     {probes.KindHTTP, "go.microsoft.com", 80},
	"outbound.infra.defender":            {probes.KindTLS, "wdcp.microsoft.com", 443},
	"outbound.infra.defender-alt":        {probes.KindTLS, "wdcpalt.microsoft.com", 443},
	"outbound.certs.https.crl":           {probes.KindTLS, "crl.microsoft.com", 443},
	"outbound.certs.https.mscrl":         {probes.KindTLS, "mscrl.microsoft.com", 443},
	"outbound.certs.https.oneocsp":       {probes.KindTLS, "oneocsp.microsoft.com", 443},
	"outbound.certs.https.ocsp-msocsp":   {probes.KindTLS, "ocsp.msocsp.com", 443},
	"outbound.certs.https.cacerts":       {probes.KindTLS, "cacerts.digicert.com", 443},
	"outbound.certs.https.crl3":          {probes.KindTLS, "crl3.digicert.com", 443},
	"outbound.certs.https.ocsp-digicert": {probes.KindTLS, "ocsp.digicert.com", 443},
}

func TestInternalInfrastructurePerModeAndCloud(t *testing.T) {
	for _, cloud := range probes.Clouds() {
		for _, mode := range probes.Modes() {
			checks, err := Plan(Options{Cloud: cloud, Mode: mode, Phase: probes.DeployPre})
			if err != nil {
				t.Fatal(err)
			}
			m := byID(checks)
			for id, want := range infraIDs {
				c, ok := m[id]
				if !ok {
					t.Errorf("%s/%s: %s missing", cloud, mode, id)
					continue
				}
				if c.Kind != want.kind || c.Target.Host != want.host || c.Target.Port != want.port {
					t.Errorf("%s/%s: %s is %s %s, want %s %s:%d", cloud, mode, id, c.Kind, c.Target, want.kind, want.host, want.port)
				}
				if !strings.Contains(c.Source, "learn.microsoft.com/azure/api-management/virtual-network-reference") {
					t.Errorf("%s: source %q does not name the reference", id, c.Source)
				}
				if mode.Classic() {
					// Required by the reference, and probed without any flag.
					if !c.Required || c.Probe == nil || c.Preset != nil {
						t.Errorf("%s/%s: %s required=%v probe=%v preset=%+v, want a required probe", cloud, mode, id, c.Required, c.Probe != nil, c.Preset)
					}
				} else if c.Required || c.Preset == nil || c.Preset.Reason != probes.ReasonNotApplicable {
					t.Errorf("%s/%s: %s must be not-applicable for v2 tiers, got %+v", cloud, mode, id, c.Preset)
				}
			}
			// TCP 12000 has no documented destination: never a pass, always
			// a not-observable skip that says which rule to make.
			d := m["outbound.infra.diagnostics"]
			switch {
			case d.Probe != nil:
				t.Errorf("%s/%s: TCP 12000 has nothing to connect to, yet it is probed", cloud, mode)
			case mode.Classic() && (d.Preset.Reason != probes.ReasonNotObservable || !strings.Contains(d.Preset.Hint, "TCP 12000") || !d.Required):
				t.Errorf("%s/%s: diagnostics 12000 %+v", cloud, mode, d.Preset)
			case !mode.Classic() && d.Preset.Reason != probes.ReasonNotApplicable:
				t.Errorf("%s/%s: diagnostics 12000 %+v", cloud, mode, d.Preset)
			}
		}
	}
}

// Where the reference gives a wildcard or no host, the entry says which
// concrete host stands in and which document names it.
func TestStandInHostsSaySo(t *testing.T) {
	checks, _ := Plan(Options{Cloud: probes.CloudPublic, Mode: probes.ModeInternal, Phase: probes.DeployPre})
	m := byID(checks)
	for id, want := range map[string][2]string{
		"outbound.infra.ntp":          {"time.windows.com stands in", "virtual-machines/windows/time-sync"},
		"outbound.infra.telemetry":    {"*.data.microsoft.com, probed at v10.events.data.microsoft.com", "learn.microsoft.com/windows/privacy/"},
		"outbound.infra.update":       {"*.update.microsoft.com, probed at sls.update.microsoft.com", "learn.microsoft.com/windows/privacy/"},
		"outbound.infra.update-ctldl": {"*.ctldl.windowsupdate.com", "learn.microsoft.com/windows/privacy/"},
	} {
		if c := m[id]; !strings.Contains(c.Why, want[0]) || !strings.Contains(c.Source, want[1]) {
			t.Errorf("%s: why %q / source %q, want %q / %q", id, c.Why, c.Source, want[0], want[1])
		}
	}
}

func TestNTPHintsNameUDP(t *testing.T) {
	checks, _ := Plan(Options{Cloud: probes.CloudPublic, Mode: probes.ModeExternal, Phase: probes.DeployPost})
	c := byID(checks)["outbound.infra.ntp"]
	if _, ok := c.Probe.(probes.NTP); !ok {
		t.Fatalf("ntp entry runs %T", c.Probe)
	}
	for reason, want := range map[probes.Reason]string{
		probes.ReasonTimeout:     "allow outbound UDP 123 to time.windows.com",
		probes.ReasonRefused:     "kiss-of-death",
		probes.ReasonWrongAnswer: "synchronised NTP server",
	} {
		got := c.Hint(probes.Result{Status: probes.Fail, Reason: reason, FailedPhase: probes.PhaseConnect, Dialled: "198.18.0.1:123"})
		if !strings.Contains(got, want) || strings.Contains(got, "TCP") {
			t.Errorf("%s: hint %q, want %q and no TCP", reason, got, want)
		}
	}
}

func TestLegacyLoginPublicCloudOnly(t *testing.T) {
	for _, cloud := range probes.Clouds() {
		checks, _ := Plan(Options{Cloud: cloud, Mode: probes.ModeV2Integrated, Phase: probes.DeployPost})
		c, ok := byID(checks)["outbound.entra.login-windows"]
		if cloud != probes.CloudPublic {
			if ok {
				t.Errorf("%s: login.windows.net is a public-cloud host", cloud)
			}
			continue
		}
		if !ok || c.Target.String() != "login.windows.net:443" || c.Kind != probes.KindTLS || c.Required || c.Probe == nil || c.ResourceType != "AzureActiveDirectory" {
			t.Errorf("%s: login.windows.net entry %+v", cloud, c)
		}
	}
}

func TestEventHubs(t *testing.T) {
	suffix := map[probes.Cloud]string{probes.CloudPublic: "servicebus.windows.net", probes.CloudUSGov: "servicebus.usgovcloudapi.net", probes.CloudChina: "servicebus.chinacloudapi.cn"}
	ports := map[string]struct {
		kind probes.Kind
		port int
	}{"outbound.eventhub": {probes.KindTLS, 443}, "outbound.eventhub.amqps": {probes.KindTLS, 5671}, "outbound.eventhub.amqp": {probes.KindTCP, 5672}}
	for _, cloud := range probes.Clouds() {
		for _, mode := range probes.Modes() {
			with, _ := Plan(Options{Cloud: cloud, Mode: mode, Phase: probes.DeployPost, Inputs: Inputs{EventHub: "contoso-logs"}})
			without, _ := Plan(Options{Cloud: cloud, Mode: mode, Phase: probes.DeployPost})
			for id, want := range ports {
				c := byID(with)[id]
				if c.Probe == nil || c.Required || c.Kind != want.kind || c.Target.String() != "contoso-logs."+suffix[cloud]+":"+strconv.Itoa(want.port) {
					t.Errorf("%s/%s: %s = %s %s required=%v", cloud, mode, id, c.Kind, c.Target, c.Required)
				}
				if h := c.Hint(probes.Result{Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseConnect}); !strings.Contains(h, "EventHub") {
					t.Errorf("%s: hint %q does not name the EventHub tag", id, h)
				}
				// Without the flag: a no-data skip whose hint names it.
				p := byID(without)[id].Preset
				if p == nil || p.Status != probes.Skip || p.Reason != probes.ReasonNoData || !strings.Contains(p.Hint, "--event-hub NAMESPACE") {
					t.Errorf("%s/%s: %s without --event-hub: %+v", cloud, mode, id, p)
				}
			}
		}
	}
}

// azure-facts.md §11.5: v2 injection needs Storage and Key Vault 443; v2
// outbound integration needs Key Vault only.
func TestV2Requirements(t *testing.T) {
	in := Inputs{StorageAccount: "acct", KeyVault: "kv1", Service: "contoso"}
	for mode, want := range map[probes.Mode]map[string]bool{
		probes.ModeV2Injected:   {"outbound.storage.blob": true, "outbound.storage.table": true, "outbound.keyvault": true},
		probes.ModeV2Integrated: {"outbound.storage.blob": false, "outbound.storage.table": false, "outbound.keyvault": true},
		probes.ModeInternal:     {"outbound.storage.blob": true, "outbound.storage.table": true, "outbound.keyvault": true},
	} {
		checks, _ := Plan(Options{Cloud: probes.CloudPublic, Mode: mode, Phase: probes.DeployPost, Inputs: in})
		m := byID(checks)
		for id, req := range want {
			if c := m[id]; c.Required != req || c.Probe == nil {
				t.Errorf("%s: %s required=%v probed=%v, want required=%v and probed", mode, id, c.Required, c.Probe != nil, req)
			}
		}
	}
}
