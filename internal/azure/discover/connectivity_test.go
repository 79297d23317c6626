package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/instanceview"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// fakeCheck is ConnectivityCheck on the REST examples' wire, in virtual
// time: the POST answers 202 with a Location, the polls 202 until after
// has passed, then 200 with body. It keeps the request body it got.
type fakeCheck struct {
	t      *testing.T
	after  time.Duration
	body   []byte
	status int // of the POST; 0 means 202
	refuse string
	mu     sync.Mutex
	posted time.Time
	got    map[string]any
	polls  int
}

func (f *fakeCheck) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := http.Header{"Content-Type": {"application/json"}}
	resp := func(code int, b []byte) (*http.Response, error) {
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: req}, nil
	}
	if req.Method == http.MethodPost {
		if !strings.HasSuffix(req.URL.Path, "/service/contoso/connectivityCheck") || req.URL.Query().Get("api-version") != snapshot.APIMAPIVersion {
			f.t.Errorf("POST %s", req.URL)
		}
		b, _ := io.ReadAll(req.Body)
		json.Unmarshal(b, &f.got)
		f.posted = time.Now()
		if f.status != 0 {
			return resp(f.status, []byte(f.refuse))
		}
	} else {
		f.polls++
	}
	if req.Method == http.MethodPost || time.Since(f.posted) < f.after {
		h.Set("Location", "https://arm.test/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso/connectivityCheck/operationresults/op1?api-version="+snapshot.APIMAPIVersion)
		h.Set("Retry-After", "10")
		return resp(http.StatusAccepted, nil)
	}
	return resp(http.StatusOK, f.body)
}

func checkSession(f *fakeCheck) *armSession {
	s := lroSession(f)
	s.o = &Options{}
	return s
}

var contosoAPIM = &snapshot.APIMInfo{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/contoso", Name: "contoso", Location: "West Europe"}

// A TCP check: the request names the instance's region and the
// destination, the answer's status, latency and hops come back.
func TestConnectivityCheckTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeCheck{t: t, after: 12 * time.Second, body: fixture(t, "connectivity-connected.json")}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		c := instanceview.Check(ctx, checkSession(f), contosoAPIM, instanceview.ConnectivityRequest{Address: "acct.blob.core.windows.net", Port: 443, Protocol: "TCP"})
		if c.Failure != nil {
			t.Fatalf("failure %+v", c.Failure)
		}
		if !c.Reached() || c.Unreached() || c.Status != "Connected" || c.Region != "westeurope" || c.ProbesSent != 100 || c.MaxLatencyMS != 4 || len(c.Hops) != 2 || c.Hops[1].Type != "Internet" {
			t.Errorf("answer %+v", c)
		}
		if took := time.Since(start); took < 12*time.Second || took > 13*time.Second {
			t.Errorf("the check took %v for an operation of 12 s", took)
		}
		src, _ := f.got["source"].(map[string]any)
		dst, _ := f.got["destination"].(map[string]any)
		if src["region"] != "westeurope" || dst["address"] != "acct.blob.core.windows.net" || dst["port"] != float64(443) || f.got["protocol"] != "TCP" || f.got["protocolConfiguration"] != nil {
			t.Errorf("request %v", f.got)
		}
	})
}

// An HTTPS check counts any status as reachable, as this VM does; the
// issues of a disconnected answer come back bounded.
func TestConnectivityCheckHTTPSDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeCheck{t: t, body: fixture(t, "connectivity-disconnected.json")}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := instanceview.Check(ctx, checkSession(f), contosoAPIM, instanceview.ConnectivityRequest{Address: "https://legacy.contoso.com/", Port: 443, Protocol: "HTTPS"})
		if c.Failure != nil || c.Reached() || !c.Unreached() {
			t.Fatalf("answer %+v", c)
		}
		is := c.Hops[0].Issues
		if len(is) != 1 || is[0].Type != "NetworkSecurityRule" || is[0].Origin != "Outbound" || is[0].Context["RuleName"] != "DenyOnPremOutbound" {
			t.Errorf("issues %+v", is)
		}
		pc, _ := f.got["protocolConfiguration"].(map[string]any)
		hc, _ := pc["HTTPConfiguration"].(map[string]any)
		codes, _ := hc["validStatusCodes"].([]any)
		if f.got["protocol"] != "HTTPS" || hc["method"] != "GET" || len(codes) != 500 || codes[0] != float64(100) {
			t.Errorf("HTTP configuration %v", f.got["protocolConfiguration"])
		}
	})
}

// The call is an action Reader lacks: a 403 names the action Resource
// Manager named, or else sends the reader to the provider's operations.
func TestConnectivityCheckDenied(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.ApiManagement/service/connectivityCheck/action' over scope '/subscriptions/s' or the scope is invalid."}}`,
			"Microsoft.ApiManagement/service/connectivityCheck/action"},
		{`{"error":{"code":"AuthorizationFailed","message":"denied"}}`, "az provider operation show -n Microsoft.ApiManagement"},
	} {
		f := &fakeCheck{t: t, status: http.StatusForbidden, refuse: c.body}
		got := instanceview.Check(context.Background(), checkSession(f), contosoAPIM, instanceview.ConnectivityRequest{Address: "x.test", Port: 443, Protocol: "TCP"})
		if got.Failure == nil || got.Failure.Status != snapshot.ReadDenied || !strings.Contains(got.Failure.Permission, c.want) || !strings.Contains(got.Failure.Message, c.want) {
			t.Errorf("%+v", got.Failure)
		}
		if strings.Contains(got.Failure.Message, "object id") {
			t.Errorf("the refusal's text reached the message: %q", got.Failure.Message)
		}
	}
}

// An operation still running at the deadline ends the call there.
func TestConnectivityCheckEndsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeCheck{t: t, after: time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		c := instanceview.Check(ctx, checkSession(f), contosoAPIM, instanceview.ConnectivityRequest{Address: "x.test", Port: 443, Protocol: "TCP"})
		if c.Failure == nil || c.Failure.Status != snapshot.ReadTimeout || time.Since(start) != 20*time.Second {
			t.Errorf("after %v: %+v", time.Since(start), c.Failure)
		}
	})
}

// A hostile answer is bounded and cleaned before anything keeps it.
func TestConnectivityCheckBoundsTheAnswer(t *testing.T) {
	var hops []map[string]any
	for range 100 {
		var issues []map[string]any
		for range 50 {
			issues = append(issues, map[string]any{"type": "Platform\x1b[31m" + strings.Repeat("x", 500), "context": []map[string]string{{"k\n1": "v\x07"}}})
		}
		hops = append(hops, map[string]any{"type": "Source", "address": "10.0.0.1\r\nX-Evil: 1", "issues": issues})
	}
	body, _ := json.Marshal(map[string]any{"hops": hops, "connectionStatus": "Connected\x1b[0m"})
	f := &fakeCheck{t: t, body: body}
	c := instanceview.Check(context.Background(), checkSession(f), contosoAPIM, instanceview.ConnectivityRequest{Address: "x.test", Port: 443, Protocol: "TCP"})
	if len(c.Hops) != instanceview.MaxHops || len(c.Hops[0].Issues) != instanceview.MaxIssues || c.Status != "Connected[0m" && c.Status != "Connected" {
		t.Fatalf("%d hops, %d issues, status %q", len(c.Hops), len(c.Hops[0].Issues), c.Status)
	}
	b, _ := json.Marshal(c.Hops)
	if bytes.ContainsAny(b, "\x1b\x07") || strings.Contains(string(b), `\u001b`) || strings.Contains(c.Hops[0].Address, "X-Evil") || len([]rune(c.Hops[0].Issues[0].Type)) > 61 {
		t.Errorf("not cleaned: %s", b[:300])
	}
}
