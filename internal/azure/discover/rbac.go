package discover

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// denied records a 401 or 403 (azure-facts §12.5). A 401 is Resource
// Manager refusing the token itself — from another tenant than the
// subscription's, for another audience, expired — which no role assignment
// fixes: the read is rejected, with ARM's code and the fix. A 403 is RBAC:
// the action missing is the one ARM's message names (a linked resource's
// for LinkedAuthorizationFailed), else the read's own.
func denied(r *snapshot.Read, re *azcore.ResponseError, audience string) {
	ref := arm.Refused(re, audience)
	code := ref.Code
	if ref.Rejected {
		r.Status = snapshot.ReadRejected
		r.Message = fmt.Sprintf("rejected: Resource Manager refused the token (HTTP 401 %s)", cmp.Or(code, "without an error code"))
		if msg := ref.Message; msg != "" {
			r.Message += ": " + msg
		}
		r.Fix = ref.Fix
		return
	}
	r.Status = snapshot.ReadDenied
	action, scope := ref.Action, ref.Scope
	switch {
	case strings.EqualFold(code, "LinkedAuthorizationFailed") && action != "":
		r.Permission = action
		r.Message = fmt.Sprintf("denied (HTTP 403 %s): the identity lacks %s on a linked resource", code, action)
		if scope != "" {
			r.Message += ", " + scope
		}
	case action != "":
		r.Permission = action
		r.Message = fmt.Sprintf("denied (HTTP 403 %s): the identity lacks %s", code, action)
	default:
		r.Message = fmt.Sprintf("denied (HTTP %d %s): the identity lacks %s", re.StatusCode, code, r.Permission)
	}
}
