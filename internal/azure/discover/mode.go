package discover

import (
	"context"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// InstanceMode waits for the instance's resource (or ctx) and returns its
// mode; "" with why when it is unknown.
func (d *Discovery) InstanceMode(ctx context.Context) (probes.Mode, string) {
	if d.opts.Service == "" {
		return "", "no --service"
	}
	if !d.waitRead(ctx, snapshot.ReadAPIM) {
		return "", "Resource Manager did not show the instance in time"
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live.APIM == nil {
		why := "Resource Manager did not show the instance"
		if r := d.live.Reads[snapshot.ReadAPIM]; r != nil && r.Message != "" {
			why += " (" + r.Message + ")"
		}
		return "", why
	}
	return snapshot.ModeOf(d.live.APIM)
}
