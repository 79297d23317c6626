package snapshot

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Source yields the Resource Manager snapshot, waiting for the
// reads when they are still running. *Discovery is one; Static wraps a
// snapshot that is already complete.
type Source interface {
	Snapshot(ctx context.Context) *Snapshot
}

// Static is a Source for a finished snapshot (nil: no ARM at all).
type Static struct{ S *Snapshot }

func (s Static) Snapshot(context.Context) *Snapshot {
	if s.S == nil {
		return &Snapshot{Reads: map[string]*Read{}, Why: "Resource Manager was not consulted"}
	}
	return s.S
}

// ModeOf is the instance's network mode as its resource says it
// (azure-facts §12.7): the classic tiers (Developer, Premium, …) are
// internal or external by virtualNetworkType; the v2 tiers (StandardV2,
// PremiumV2, BasicV2) are injected when Internal (Premium v2 VNet
// injection, inbound private) and integrated when External (outbound
// integration, public inbound). An instance in no virtual network (None)
// has no mode of apimprobe's: why says so.
func ModeOf(a *APIMInfo) (mode probes.Mode, why string) {
	if a == nil {
		return "", "Resource Manager did not show the instance"
	}
	v2 := strings.HasSuffix(strings.ToLower(a.SKU), "v2")
	switch strings.ToLower(a.VNetType) {
	case "internal":
		if v2 {
			return probes.ModeV2Injected, ""
		}
		return probes.ModeInternal, ""
	case "external":
		if v2 {
			return probes.ModeV2Integrated, ""
		}
		return probes.ModeExternal, ""
	}
	return "", fmt.Sprintf("the instance %s is in no virtual network (virtualNetworkType %s, SKU %s)", a.Name, cmp.Or(a.VNetType, "None"), cmp.Or(a.SKU, "unknown"))
}

// modeWords is how the instance's resource says its mode.
func ModeWords(a *APIMInfo) string {
	return fmt.Sprintf("virtualNetworkType %s, SKU %s", cmp.Or(a.VNetType, "None"), cmp.Or(a.SKU, "unknown"))
}
