package discover

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/netwire"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// The REST spec's shape (tagMap a JSON string, "*" items) still reads, and
// so does an answer that comes at once (200) instead of through a 202.
func TestEffectiveNSGsOldShapeTolerated(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"POST effectiveNetworkSecurityGroups": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(fixture(t, "effective-nsgs-string-tagmap.json"))
		},
	})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	s := d.Wait(context.Background())
	if r := s.Read(snapshot.ReadEffectiveNSGs); !r.OK() || len(s.NSGs) != 2 {
		t.Fatalf("nsg read: %+v, %d groups", r, len(s.NSGs))
	}
	res := runChecks(t, d, o)
	expect(t, res, "subnet.nsg.inbound-3443", probes.Pass, probes.ReasonOK, "AllowApimManagement")
	expect(t, res, "subnet.nsg.outbound-sql-1433", probes.Fail, probes.ReasonNSGRule, "DenyInternetOut", "below 4000", "nsg-apim")
}

type transporterFunc func(*http.Request) (*http.Response, error)

func (f transporterFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// A read whose last answer arrives as its context ends is the deadline,
// not an empty result: a server whose handler ends at the client's hang-up
// answers 200 with no body, which would decode as "no routes". azcore's
// pipeline gives the context's error then (the egress check needed its own
// guard, probes/http.go); this keeps it so for both kinds of read.
func TestAnswerAtTheHangUpIsTheDeadline(t *testing.T) {
	for _, lro := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		tr := transporterFunc(func(req *http.Request) (*http.Response, error) {
			h := http.Header{"Content-Type": {"application/json"}}
			if req.Method == http.MethodPost {
				h.Set("Location", "https://arm.test/operations/1")
				h.Set("Retry-After", "0")
				return &http.Response{StatusCode: http.StatusAccepted, Header: h, Body: http.NoBody, Request: req}, nil
			}
			cancel()
			return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, Request: req}, nil
		})
		s := &armSession{Session: arm.SessionOf("https://arm.test", "", runtime.NewPipeline("apimprobe-test", "v0", runtime.PipelineOptions{},
			&policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}), nil, nil)}
		var out netwire.EffectiveRouteList
		var err error
		if lro {
			err = postLRO(ctx, s, "/nic/effectiveRouteTable", &out)
		} else {
			err = s.GetJSON(ctx, "/subnets/snet", "2024-05-01", &out)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("long-running %v: err %v (routes decoded: %v), want the context's end", lro, err, out.Value != nil)
		}
		cancel()
	}
}
