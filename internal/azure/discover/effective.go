package discover

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/netwire"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The effective route table and effective NSGs are read into types of our
// own over the raw REST body, not armnetwork's: real answers carry tagMap
// as a JSON object where the SDK declares a string (so the whole NSG list
// fails to unmarshal), and routes carry destinationServiceTags, tagMap and
// hasBgpOverride that the SDK drops (azure-facts §11.1, §11.2). The SDK's
// pipeline (token, retries) and poller still carry the requests.

// networkAPIVersion is the one armnetwork v7 uses for the other reads.
const networkAPIVersion = "2025-01-01"

// postLRO starts a long-running POST and polls it to its end within ctx,
// decoding the final body into out.
func postLRO[T any](ctx context.Context, s *armSession, path string, out *T) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, s.Endpoint()+path+"?api-version="+networkAPIVersion)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := s.Pipeline().Do(req)
	if err != nil {
		return err
	}
	accepted := time.Now()
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusAccepted) {
		return runtime.NewResponseError(resp)
	}
	p, err := runtime.NewPoller(resp, s.Pipeline(), &runtime.NewPollerOptions[T]{FinalStateVia: runtime.FinalStateViaLocation, Response: out})
	if err != nil {
		return err
	}
	if _, err := arm.PollUntilDone(ctx, p, accepted); err != nil {
		return err
	}
	_, err = p.Result(ctx)
	return err
}

func (s *armSession) nicPath(op string) string {
	return "/subscriptions/" + url.PathEscape(s.Subscription()) + "/resourceGroups/" + url.PathEscape(s.snap.ResourceGroup) +
		"/providers/Microsoft.Network/networkInterfaces/" + url.PathEscape(s.snap.NICName) + "/" + op
}

func (s *armSession) readEffectiveRoutes(ctx context.Context) {
	r := snapshot.NewRead(snapshot.ReadEffectiveRoutes, s.snap.ResourceGroup, s.snap.NICName, "", "")
	start := s.begin(r.Name)
	var body netwire.EffectiveRouteList
	var out []routes.Route
	err := postLRO(ctx, s, s.nicPath("effectiveRouteTable"), &body)
	if err == nil {
		out, err = netwire.ConvertRoutes(body)
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.Routes = out
		}
	})
}

func (s *armSession) readEffectiveNSGs(ctx context.Context) {
	r := snapshot.NewRead(snapshot.ReadEffectiveNSGs, s.snap.ResourceGroup, s.snap.NICName, "", "")
	start := s.begin(r.Name)
	var body netwire.EffectiveNSGList
	var out []nsg.Group
	err := postLRO(ctx, s, s.nicPath("effectiveNetworkSecurityGroups"), &body)
	if err == nil {
		out, err = netwire.ConvertNSGs(body)
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.NSGs = out
		}
	})
}
