package report

import (
	"encoding/json"

	"github.com/apimprobe/apimprobe/probes"
)

// InstanceProbe is the instance's own probe of the check's destination
// (evidence.instance_probe, --instance-probe), in its typed form; nil
// when the instance was not asked.
func (c Check) InstanceProbe() *probes.InstanceProbe {
	v, ok := c.Evidence["instance_probe"]
	if !ok || v == nil {
		return nil
	}
	if ip, ok := v.(*probes.InstanceProbe); ok {
		return ip
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var ip probes.InstanceProbe
	if json.Unmarshal(b, &ip) != nil {
		return nil
	}
	return &ip
}
