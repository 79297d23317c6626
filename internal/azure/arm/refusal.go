package arm

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/lazyre"
)

// A 401 or a 403 from Resource Manager (azure-facts §12.5). A 401 is
// Resource Manager refusing the token itself — from another tenant than
// the subscription's, for another audience, expired — which no role
// assignment fixes. A 403 is RBAC: the action missing is the one ARM's
// message names (a linked resource's for LinkedAuthorizationFailed).

// Refusal is what a 401 or 403 says.
type Refusal struct {
	// Rejected: a 401, the token itself refused.
	Rejected bool
	// Code is ARM's error code, cleaned.
	Code string
	// Message is ARM's error message, cleaned (shown for a 401).
	Message string
	// Fix makes Resource Manager take the token (a 401).
	Fix string
	// Action and Scope are what a 403's message names as missing, and
	// where ("" when it names none).
	Action, Scope string
}

// Refused reads a 401 or 403; audience is the cloud's Resource Manager
// token audience, for a 401's fix.
func Refused(re *azcore.ResponseError, audience string) Refusal {
	r := Refusal{Code: bounded.Line(re.ErrorCode), Rejected: re.StatusCode == http.StatusUnauthorized}
	raw := armMessage(re) // parsed whole; only what is taken from it is shown
	if r.Rejected {
		r.Message = bounded.Line(raw)
		r.Fix = tokenFix(r.Code, raw, re, audience)
		return r
	}
	r.Action, r.Scope = deniedAction(raw)
	return r
}

// shortID is the last segment of a resource id: its name.
func shortID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// maxErrorBody bounds the part of an error answer that is parsed.
const maxErrorBody = 64 << 10

// armMessage is error.message of ARM's answer, at most maxMessage bytes and
// not cleaned (boundedLine cleans what is shown); "" when the body is not
// ARM's error shape.
func armMessage(re *azcore.ResponseError) string {
	if re.RawResponse == nil {
		return ""
	}
	b, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return ""
	}
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b[:min(len(b), maxErrorBody)], &body) != nil {
		return ""
	}
	m := body.Error.Message
	if len(m) > maxMessage {
		m = m[:maxMessage]
	}
	return m
}

// maxMessage bounds the ARM message parsed: a linked scope's message runs
// to several hundred characters, the action at its end.
const maxMessage = 4 << 10

var (
	// "… does not have permission to perform action(s) 'X' on the linked
	// scope(s) 'Y' …" (LinkedAuthorizationFailed) and "… does not have
	// authorization to perform action 'X' over scope 'Y' …"
	// (AuthorizationFailed).
	deniedActionRE = lazyre.New(`does not have (?:permission|authorization) to perform action(?:\(s\))? '([A-Za-z0-9./*_-]{3,200})'(?: (?:on the linked scope\(s\)|over scope) '([^']{1,300})')?`)
	// The tenant a 401 names: "It must match the tenant
	// 'https://sts.windows.net/T/'", or WWW-Authenticate's
	// authorization_uri="https://login.windows.net/T".
	tenantRE = lazyre.New(`(?:must match the tenant '|authorization_uri="?)https://[A-Za-z0-9.-]+/([A-Za-z0-9.-]{1,100})/?`)
)

// deniedAction is the action (and scope) a 403's message names.
func deniedAction(msg string) (action, scope string) {
	m := deniedActionRE.FindStringSubmatch(msg)
	if m == nil {
		return "", ""
	}
	return m[1], bounded.Line(shortID(m[2]))
}

// tokenFix is the change that makes Resource Manager take the token.
func tokenFix(code, msg string, re *azcore.ResponseError, audience string) string {
	tenant := ""
	hay := msg
	if re.RawResponse != nil {
		hay += " " + re.RawResponse.Header.Get("WWW-Authenticate")
	}
	if m := tenantRE.FindStringSubmatch(hay); m != nil {
		tenant = m[1]
	}
	aud := cmp.Or(strings.TrimRight(audience, "/"), "the cloud's Resource Manager audience")
	switch strings.ToLower(code) {
	case "invalidauthenticationtokentenant":
		t := cmp.Or(tenant, "the subscription's tenant")
		return fmt.Sprintf("Get the token from the subscription's tenant (%s): with --arm-credential azure-cli, `az login --tenant %s`; a managed identity gets tokens only from its own tenant, so run from a VM (or as an identity) of tenant %s. No role assignment fixes a 401", t, t, t)
	case "invalidauthenticationtokenaudience":
		return fmt.Sprintf("Get the token for this cloud's Resource Manager (audience %s): make --cloud and --arm-endpoint name the subscription's cloud. No role assignment fixes a 401", aud)
	case "expiredauthenticationtoken":
		return "The token had expired when Resource Manager checked it: check this VM's clock (NTP), and with --arm-credential azure-cli sign in again (`az login`). No role assignment fixes a 401"
	}
	fix := fmt.Sprintf("Sign in again and get the token for this cloud's Resource Manager (audience %s)", aud)
	if tenant != "" {
		fix += " from tenant " + tenant + " (`az login --tenant " + tenant + "`)"
	}
	return fix + ". No role assignment fixes a 401"
}
