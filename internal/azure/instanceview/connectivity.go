package instanceview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/lazyre"
	"github.com/apimprobe/apimprobe/probes"
)

// The instance's own probe (azure-facts §5, §12.12): ConnectivityCheck
// asks the instance to connect, from its own machines in its region, to an
// address and port over TCP, HTTP or HTTPS, and answers with the outcome,
// the hops and the issues it found. It is a long-running POST (202 and a
// Location, polled until 200) and an action, not a read: Reader lacks it.

// ConnectivityRequest is one destination for the instance to probe.
type ConnectivityRequest struct {
	// Address is a host name or IP (TCP), or a URL (HTTP, HTTPS).
	Address string
	Port    int
	// Protocol is TCP, HTTP or HTTPS.
	Protocol string
}

// Connectivity is the instance's answer for one destination, or why there
// is none.
type Connectivity struct {
	// Region is where the instance probed from (its primary location).
	Region string
	// Status is connectionStatus as the instance said it (Connected,
	// Disconnected, Degraded, Unknown, Reachable …); "" without an answer.
	Status                     string
	AvgLatencyMS, MinLatencyMS int64
	MaxLatencyMS               int64
	ProbesSent, ProbesFailed   int64
	Hops                       []probes.ProbeHop
	Took                       time.Duration
	// Failure is set when there is no answer: the call was refused,
	// failed, or did not finish; Status is then "".
	Failure *snapshot.Read
}

// Reached says whether the instance connected (Connected, Reachable, or
// Degraded with some probes through).
func (c Connectivity) Reached() bool {
	switch strings.ToLower(c.Status) {
	case "connected", "reachable":
		return true
	case "degraded":
		return c.ProbesSent > c.ProbesFailed
	}
	return false
}

// Unreached says whether the instance answered that it could not connect.
func (c Connectivity) Unreached() bool {
	return c.Failure == nil && strings.EqualFold(c.Status, "disconnected") ||
		strings.EqualFold(c.Status, "degraded") && c.ProbesSent > 0 && c.ProbesFailed >= c.ProbesSent
}

// ConnectivityAction is what to allow when the call is refused and
// Resource Manager's refusal names no action: words that send the reader to
// the provider's operation list (the operation's name is not guessed).
const ConnectivityAction = "the ConnectivityCheck action on the instance (see `az provider operation show -n Microsoft.ApiManagement`)"

// Bounds on what one answer may add to a report.
const (
	MaxHops        = 20
	MaxIssues      = 10
	maxIssueFields = 10
)

// NewConnectivityRead is the read a ConnectivityCheck records: its
// permission and the call that makes it by hand, on the instance id.
func NewConnectivityRead(id string) *snapshot.Read {
	if id == "" {
		id = "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/NAME"
	}
	return &snapshot.Read{Name: "apim-connectivity-check", Permission: ConnectivityAction,
		CLI: "az rest --method post --url " + id + "/connectivityCheck?api-version=" + snapshot.APIMAPIVersion + ` --body '{"source":{"region":"REGION"},"destination":{"address":"HOST","port":PORT},"protocol":"TCP"}'`}
}

type connectivityWire struct {
	Hops []struct {
		Type       string `json:"type"`
		Address    string `json:"address"`
		ResourceID string `json:"resourceId"`
		Issues     []struct {
			Origin   string              `json:"origin"`
			Severity string              `json:"severity"`
			Type     string              `json:"type"`
			Context  []map[string]string `json:"context"`
		} `json:"issues"`
	} `json:"hops"`
	ConnectionStatus string `json:"connectionStatus"`
	AvgLatencyInMs   int64  `json:"avgLatencyInMs"`
	MinLatencyInMs   int64  `json:"minLatencyInMs"`
	MaxLatencyInMs   int64  `json:"maxLatencyInMs"`
	ProbesSent       int64  `json:"probesSent"`
	ProbesFailed     int64  `json:"probesFailed"`
}

// anyStatus is every HTTP status: any answer proves the destination
// reachable, as this VM judges it.
var anyStatus = func() []int {
	var out []int
	for c := 100; c < 600; c++ {
		out = append(out, c)
	}
	return out
}()

func requestBody(region string, req ConnectivityRequest) map[string]any {
	body := map[string]any{
		"source":             map[string]any{"region": region},
		"destination":        map[string]any{"address": req.Address, "port": req.Port},
		"preferredIPVersion": "IPv4",
		"protocol":           req.Protocol,
	}
	if req.Protocol == "HTTP" || req.Protocol == "HTTPS" {
		body["protocolConfiguration"] = map[string]any{"HTTPConfiguration": map[string]any{"method": "GET", "validStatusCodes": anyStatus}}
	}
	return body
}

// Check asks the instance a to probe req from its primary region, within
// ctx, over s, and closes s's connections when it has the answer.
func Check(ctx context.Context, s Session, a *snapshot.APIMInfo, req ConnectivityRequest) Connectivity {
	region := snapshot.RegionName(a.Location)
	out := Connectivity{Region: region}
	r := NewConnectivityRead(a.ID)
	start := time.Now()
	var wire connectivityWire
	err := postAction(ctx, s, a.ID+"/connectivityCheck", requestBody(region, req), &wire)
	s.Close() // no connection of a run outlives it
	if err != nil {
		s.Settle(ctx, r, start, err)
		if r.Status == snapshot.ReadDenied {
			if action := refusedAction(err); action != "" {
				r.Permission = action
			}
			r.Message = fmt.Sprintf("denied (HTTP %d %s): the identity may not run ConnectivityCheck; allow %s", r.HTTPStatus, bounded.Line(r.ErrorCode), r.Permission)
		}
		out.Failure = r
		return out
	}
	out.Status = bounded.Line(wire.ConnectionStatus)
	out.AvgLatencyMS, out.MinLatencyMS, out.MaxLatencyMS = wire.AvgLatencyInMs, wire.MinLatencyInMs, wire.MaxLatencyInMs
	out.ProbesSent, out.ProbesFailed = wire.ProbesSent, wire.ProbesFailed
	for i, h := range wire.Hops {
		if i == MaxHops {
			break
		}
		hop := probes.ProbeHop{Type: boundedWord(h.Type), Address: bounded.Line(h.Address), ResourceID: bounded.Line(h.ResourceID)}
		for j, is := range h.Issues {
			if j == MaxIssues {
				break
			}
			issue := probes.ProbeIssue{Origin: boundedWord(is.Origin), Severity: boundedWord(is.Severity), Type: boundedWord(is.Type)}
			for _, m := range is.Context {
				for k, v := range m {
					if len(issue.Context) == maxIssueFields {
						break
					}
					if issue.Context == nil {
						issue.Context = map[string]string{}
					}
					issue.Context[boundedWord(k)] = bounded.Line(v)
				}
			}
			hop.Issues = append(hop.Issues, issue)
		}
		out.Hops = append(out.Hops, hop)
	}
	return out
}

// boundedWord is boundedLine cut to 60 runes: a type or a key.
func boundedWord(s string) string {
	s = bounded.Line(s)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "…"
	}
	return s
}

// refusedRE finds the action a 403 AuthorizationFailed names ("does not
// have authorization to perform action 'X' over scope …").
var refusedRE = lazyre.New(`perform action '(Microsoft\.ApiManagement/[A-Za-z0-9/._-]{1,120})'`)

// refusedAction is the action Resource Manager said the identity lacks,
// when it said one of API Management's; "" otherwise.
func refusedAction(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil {
		return ""
	}
	// azcore has read the body into RawResponse already; Error() holds it.
	m := refusedRE.FindStringSubmatch(re.Error())
	if m == nil {
		return ""
	}
	return m[1]
}

// postAction starts a long-running POST with a JSON body and polls it to
// its end within ctx (202 + Location, then 200 with the result), through
// the session's pipeline: its token, retries and the checks every URL it
// follows goes through.
func postAction(ctx context.Context, s Session, path string, body any, out any) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, s.Endpoint()+path+"?api-version="+snapshot.APIMAPIVersion)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		return err
	}
	resp, err := s.Pipeline().Do(req)
	if err != nil {
		return err
	}
	accepted := time.Now()
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusAccepted) {
		return runtime.NewResponseError(resp)
	}
	if resp.StatusCode == http.StatusOK {
		return decodeBounded(resp, out)
	}
	var result json.RawMessage
	p, err := runtime.NewPoller(resp, s.Pipeline(), &runtime.NewPollerOptions[json.RawMessage]{FinalStateVia: runtime.FinalStateViaLocation, Response: &result})
	if err != nil {
		return err
	}
	if _, err := arm.PollUntilDone(ctx, p, accepted); err != nil {
		return err
	}
	if _, err := p.Result(ctx); err != nil {
		return err
	}
	if len(result) > arm.MaxBody {
		return arm.Malformed(fmt.Sprintf("answer larger than %d bytes", arm.MaxBody))
	}
	if err := json.Unmarshal(result, out); err != nil {
		return arm.Malformed("the ConnectivityCheck answer does not parse: " + bounded.Line(err.Error()))
	}
	return nil
}

func decodeBounded(resp *http.Response, out any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, arm.MaxBody+1))
	if err != nil {
		return err
	}
	if len(b) > arm.MaxBody {
		return arm.Malformed(fmt.Sprintf("answer larger than %d bytes", arm.MaxBody))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return arm.Malformed("the ConnectivityCheck answer does not parse: " + bounded.Line(err.Error()))
	}
	return nil
}
