package discover

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/instanceview"
	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The reads of Resource Manager, end to end on the fuzzer's answers: every
// request of a read is answered with the fuzzed status, Location and body
// by an in-memory transport (no network, no goroutine of a server), through
// the same pipeline, SDK clients and converters as a run; then every check
// the snapshot feeds is judged on it. Whatever the answer, nothing panics,
// each read ends with a known status and a bounded, printable message.

const fuzzSub = "00000000-0000-0000-0000-000000000000"

// fuzzAnswer is what the in-memory Resource Manager answers every request.
type fuzzAnswer struct {
	status   int
	location string
	body     []byte
}

func (a fuzzAnswer) Do(req *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	if a.location != "" {
		h.Set("Location", a.location)
		h.Set("Retry-After", "0")
		if strings.Contains(a.location, "async") {
			// The other way Resource Manager names a long-running
			// operation's status.
			h.Set("Azure-AsyncOperation", a.location)
		}
	}
	status := a.status
	if status < 100 || status > 599 {
		status = http.StatusOK
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}

type fuzzCred struct{}

func (fuzzCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// fuzzSession is a session as prepareARM builds it, on tr.
func fuzzSession(t *testing.T, tr policy.Transporter, mode probes.Mode) *armSession {
	cc, err := arm.CloudConfig(probes.CloudPublic, "https://arm.test")
	if err != nil {
		t.Fatal(err)
	}
	co := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: cc, Transport: tr,
		Retry: policy.RetryOptions{MaxRetries: -1}, Telemetry: policy.TelemetryOptions{Disabled: true}}, DisableRPRegistration: true}
	arm.Guard(co, "https://arm.test")
	pl, err := armruntime.NewPipeline("apimprobe", "v1", fuzzCred{}, azruntime.PipelineOptions{}, co)
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Service: "contoso", Mode: mode, Phase: probes.DeployPost, Region: "westeurope"}
	o.defaults()
	return &armSession{Session: arm.SessionOf("https://arm.test", fuzzSub, pl, fuzzCred{}, co), o: o,
		snap: &snapshot.Snapshot{Enabled: true, Reads: map[string]*snapshot.Read{}}, mu: &sync.Mutex{}, changed: func() {}, pending: map[string]time.Time{}}
}

// judgeAll checks what a read left: known statuses, printable bounded
// messages, and every check of the snapshot judged without a panic.
func judgeAll(t *testing.T, s *armSession) {
	t.Helper()
	for name, r := range s.snap.Reads {
		switch r.Status {
		case snapshot.ReadOK, snapshot.ReadDenied, snapshot.ReadRejected, snapshot.ReadThrottled, snapshot.ReadNotFound, snapshot.ReadFailed, snapshot.ReadTimeout, snapshot.ReadMalformed, snapshot.ReadNotTried, snapshot.ReadUnreachable:
		default:
			t.Fatalf("read %s: status %q", name, r.Status)
		}
		if utf8.RuneCountInString(r.Message) > 1000 || strings.ContainsFunc(r.Message, unicode.IsControl) {
			t.Fatalf("read %s: message %q", name, r.Message)
		}
	}
	ctx := context.Background()
	for _, c := range judge.Checks(snapshot.Static{S: s.snap}, judgeConfig(*s.o)) {
		if c.Probe != nil {
			res := c.Probe.Run(ctx)
			if res.Status == "" {
				t.Fatalf("%s: no status", c.ID)
			}
		}
	}
}

// fuzzRead runs read on a fresh session answering a.
func fuzzRead(t *testing.T, a fuzzAnswer, mode probes.Mode, read func(ctx context.Context, s *armSession)) *armSession {
	s := fuzzSession(t, a, mode)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	read(ctx, s)
	judgeAll(t, s)
	return s
}

func seedRead(f *testing.F, fixtures ...string) {
	for _, n := range fixtures {
		if b, err := readFixture(n); err == nil {
			f.Add(200, "", b)
		}
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"value": null, "nextLink": "https://arm.test/next"}`,
		`{"value": [null, {}, 1, "x"], "nextLink": "https://elsewhere.test/steal"}`, `{"error": {"code": "AuthorizationFailed\u001b[31m", "message": "x"}}`} {
		f.Add(200, "", []byte(s))
	}
	f.Add(403, "", []byte(`{"error": {"code": "AuthorizationFailed", "message": "no"}}`))
	f.Add(429, "", []byte(`{"error": {"code": "TooManyRequests"}}`))
	f.Add(404, "", []byte(`{"error": {"code": "ResourceNotFound"}}`))
	f.Add(302, "https://elsewhere.test/x", []byte(``))
}

var instanceForFuzz = &imds.Instance{Location: "westeurope", Name: "jumpbox", ResourceGroup: "rg", SubscriptionID: fuzzSub,
	ResourceID: "/subscriptions/" + fuzzSub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/jumpbox", PrivateIP: "10.0.1.4"}

const fuzzSubnetID = "/subscriptions/" + fuzzSub + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet"

func FuzzVMRead(f *testing.F) {
	seedRead(f, "vm.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeInternal, func(ctx context.Context, s *armSession) {
			s.readVM(ctx, instanceForFuzz)
		})
	})
}

func FuzzNICRead(f *testing.F) {
	seedRead(f, "nic.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeInternal, func(ctx context.Context, s *armSession) {
			s.readNIC(ctx, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1", instanceForFuzz)
		})
	})
}

// The subnet's configured view: the subnet, its NSG, route table and VNet,
// and the permissions and provider reads beside them, all on the answer.
func FuzzSubnetRead(f *testing.F) {
	seedRead(f, "subnet.json", "nsg-apim.json", "rt-apim.json", "vnet-hub.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeV2Injected, func(ctx context.Context, s *armSession) {
			s.readConfigured(ctx, fuzzSubnetID)
		})
	})
}

func FuzzPermissions(f *testing.F) {
	seedRead(f, "permissions.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		s := fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeV2Injected, func(ctx context.Context, s *armSession) {
			s.readPermissions(ctx, fuzzSubnetID)
		})
		if v := s.snap.Predeploy; v != nil {
			judge.Granted(v.Permissions, "Microsoft.Network/virtualNetworks/subnets/join/action")
			judge.GrantedBy(v.Permissions, "Microsoft.Network/virtualNetworks/subnets/join/action")
		}
	})
}

func FuzzProviderRead(f *testing.F) {
	seedRead(f, "provider-web.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeV2Injected, func(ctx context.Context, s *armSession) {
			s.readProvider(ctx, fuzzSub)
		})
	})
}

// The instance's resource (found by name, or in the subscription's list,
// page by page), then its NetworkStatus and dependency list on the same
// answer.
func FuzzInstanceRead(f *testing.F) {
	seedRead(f, "apim.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeInternal, func(ctx context.Context, s *armSession) {
			s.readAPIM(ctx, instanceForFuzz)
			s.readInstanceView(ctx, instanceForFuzz)
		})
	})
}

func FuzzNetworkStatus(f *testing.F) {
	seedRead(f, "networkstatus.json", "networkstatus-dotnet-dates.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		s := fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeInternal, func(ctx context.Context, s *armSession) {
			instanceview.ReadNetworkStatus(ctx, s, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso", "contoso")
		})
		if len(s.snap.NetworkStatus) > instanceview.MaxRows {
			t.Fatalf("%d locations kept", len(s.snap.NetworkStatus))
		}
		for _, host := range []string{"contoso.blob.core.windows.net", "x.database.windows.net"} {
			snapshot.StatusFor(s.snap.NetworkStatus, host, 443, "BlobStorage")
		}
	})
}

func FuzzDependencies(f *testing.F) {
	seedRead(f, "outbound-dependencies.json")
	f.Fuzz(func(t *testing.T, status int, location string, body []byte) {
		s := fuzzRead(t, fuzzAnswer{status, location, body}, probes.ModeInternal, func(ctx context.Context, s *armSession) {
			instanceview.ReadDependencies(ctx, s, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso", "contoso")
		})
		if len(s.snap.Dependencies) > instanceview.MaxRows {
			t.Fatalf("%d dependencies kept", len(s.snap.Dependencies))
		}
	})
}

// A long-running read (the effective routes and NSGs): the POST's status,
// its Location and Azure-AsyncOperation, and every poll's answer are the
// fuzzer's, in virtual time, so a Retry-After or a poll that never ends
// costs no wall time. The read ends by its context's deadline at the
// latest, and its errors are classified like any read's.
func FuzzLongRunningRead(f *testing.F) {
	for _, fx := range []string{"effective-routes.json", "effective-nsgs.json"} {
		if b, err := readFixture(fx); err == nil {
			f.Add(202, "https://arm.test/operations/1?api-version=2025-01-01", 200, b)
		}
	}
	f.Add(202, "https://arm.test/operations/1", 202, []byte(`null`))
	f.Add(202, "https://elsewhere.test/operations/1", 200, []byte(`{}`))
	f.Add(202, "", 200, []byte(`{}`))
	f.Add(200, "", 200, []byte(`{"value": []}`))
	f.Add(202, "https://arm.test/operations/1", 200, []byte(`{"status": "Failed", "error": {"code": "x\u001b"}}`))
	f.Add(202, "http://arm.test/operations/1", 500, []byte(`{"status": "InProgress"}`))
	f.Add(202, "https://arm.test/operations/async-1", 200, []byte(`{"status": "Succeeded"}`))
	f.Add(202, "https://arm.test/operations/async-1", 200, []byte(`{"status": "InProgress"}`))
	f.Fuzz(func(t *testing.T, postStatus int, location string, pollStatus int, body []byte) {
		synctest.Test(t, func(t *testing.T) {
			post := fuzzAnswer{postStatus, location, []byte("null")}
			poll := fuzzAnswer{pollStatus, location, body}
			tr := transporterFunc(func(req *http.Request) (*http.Response, error) {
				if req.Method == http.MethodPost {
					return post.Do(req)
				}
				return poll.Do(req)
			})
			s := fuzzSession(t, tr, probes.ModeInternal)
			s.snap.ResourceGroup, s.snap.NICName = "rg", "nic1"
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			s.readEffectiveRoutes(ctx)
			s.readEffectiveNSGs(ctx)
			if took := time.Since(start); took > 21*time.Second {
				t.Fatalf("the reads took %s of virtual time past a 20 s deadline", took)
			}
			judgeAll(t, s)
		})
	})
}

func readFixture(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

// The harness reads for real: on the recorded answers each read is ok and
// keeps what it read, so the fuzz targets above start from reads that
// work and mutate from there.
func TestFuzzHarnessReadsTheFixtures(t *testing.T) {
	ok := func(fx string, mode probes.Mode, read func(ctx context.Context, s *armSession), name string) *armSession {
		b, err := readFixture(fx)
		if err != nil {
			t.Fatal(err)
		}
		s := fuzzRead(t, fuzzAnswer{200, "", b}, mode, read)
		if r := s.snap.Reads[name]; !r.OK() {
			t.Errorf("%s on %s: %+v", name, fx, r)
		}
		return s
	}
	if s := ok("networkstatus.json", probes.ModeInternal, func(ctx context.Context, s *armSession) {
		instanceview.ReadNetworkStatus(ctx, s, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso", "contoso")
	}, snapshot.ReadNetworkStatus); len(s.snap.NetworkStatus) == 0 {
		t.Error("no NetworkStatus kept")
	}
	if s := ok("outbound-dependencies.json", probes.ModeInternal, func(ctx context.Context, s *armSession) {
		instanceview.ReadDependencies(ctx, s, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso", "contoso")
	}, snapshot.ReadDependencies); len(s.snap.Dependencies) == 0 {
		t.Error("no dependencies kept")
	}
	if s := ok("permissions.json", probes.ModeV2Injected, func(ctx context.Context, s *armSession) { s.readPermissions(ctx, fuzzSubnetID) }, snapshot.ReadPermissions); s.snap.Predeploy == nil || len(s.snap.Predeploy.Permissions) == 0 {
		t.Error("no permissions kept")
	}
	ok("provider-web.json", probes.ModeV2Injected, func(ctx context.Context, s *armSession) { s.readProvider(ctx, fuzzSub) }, snapshot.ReadProvider)
	ok("vm.json", probes.ModeInternal, func(ctx context.Context, s *armSession) { s.readVM(ctx, instanceForFuzz) }, snapshot.ReadVM)
	ok("nic.json", probes.ModeInternal, func(ctx context.Context, s *armSession) {
		s.readNIC(ctx, "/subscriptions/"+fuzzSub+"/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1", instanceForFuzz)
	}, snapshot.ReadNIC)
	if s := ok("subnet.json", probes.ModeInternal, func(ctx context.Context, s *armSession) { s.readConfigured(ctx, fuzzSubnetID) }, snapshot.ReadSubnet); s.snap.Subnet == nil {
		t.Error("no subnet kept")
	}
	if s := ok("apim.json", probes.ModeInternal, func(ctx context.Context, s *armSession) { s.readAPIM(ctx, instanceForFuzz) }, snapshot.ReadAPIM); s.snap.APIM == nil {
		t.Error("no instance kept")
	}
}

func TestFuzzHarnessLongRunningRead(t *testing.T) {
	b, err := readFixture("effective-routes.json")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		tr := transporterFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPost {
				return fuzzAnswer{202, "https://arm.test/operations/1", []byte("null")}.Do(req)
			}
			return fuzzAnswer{200, "", b}.Do(req)
		})
		s := fuzzSession(t, tr, probes.ModeInternal)
		s.snap.ResourceGroup, s.snap.NICName = "rg", "nic1"
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.readEffectiveRoutes(ctx)
		if r := s.snap.Reads[snapshot.ReadEffectiveRoutes]; !r.OK() || len(s.snap.Routes) == 0 {
			t.Fatalf("%+v, %d routes", r, len(s.snap.Routes))
		}
	})
}
