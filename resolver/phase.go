package resolver

import (
	"context"

	"github.com/apimprobe/apimprobe/probes"
)

// DecidePhase settles --phase auto: post when the gateway host name resolves
// on any server in the set — Azure DNS included, because an instance whose
// name only the VNet's custom DNS server fails to resolve is deployed, and
// that failure is exactly what the post-deploy DNS checks must report. With
// no gateway name (no --service) nothing instance-specific can be checked,
// so the phase is pre. The comparison is returned for the context's
// evidence; it is cached, so dns.gateway reuses the same answers.
func DecidePhase(ctx context.Context, set *Set, gatewayHost string) (probes.DeployPhase, Comparison) {
	if set == nil || gatewayHost == "" {
		return probes.DeployPre, Comparison{Primary: -1, Azure: -1}
	}
	c := set.Compare(ctx, gatewayHost)
	for _, v := range c.Views {
		if v.Err == nil && len(v.Addrs) > 0 {
			return probes.DeployPost, c
		}
	}
	return probes.DeployPre, c
}
