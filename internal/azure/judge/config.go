// Package judge turns a snapshot of what was read into check results: the
// routes, the NSGs, the subnet, the pre-deployment checks, the routes
// learnt over BGP, and the instance's mode. A snapshot in, results out: it
// reads nothing itself (no client: not arm, not imds), and when something
// could not be read it says which permission or az command would show it.
package judge

import (
	"github.com/apimprobe/apimprobe/probes"
)

// Config is what the judgements take from the run, built once from its
// validated configuration: the mode and the phase being judged, the
// instance, and what the run's own probes saw.
type Config struct {
	// Mode is the mode judged; ModeAuto: no --mode was given, and the mode
	// is the instance's own once its resource is read (snapshot.ModeOf).
	Mode     probes.Mode
	ModeAuto bool
	// Phase is pre, post or auto; "pre": the instance does not exist yet.
	Phase probes.DeployPhase
	// Units planned for the instance (subnet sizing); 0 takes the
	// instance's SKU capacity, else 1.
	Units int
	// Service is the instance's name (--service).
	Service string
	// APIMSubnet is --apim-subnet, the instance's subnet's resource id.
	APIMSubnet string
	// Region is the region the run knows (a flag, IMDS or the instance).
	Region string
	// Wire gives the route analyses what the run's own probes saw
	// (route.egress-ip); nil: nothing.
	Wire Wire
}

// defaults fills what the judgements assume when nothing is said: the
// internal mode, as discover's Options do.
func (c *Config) defaults() {
	if c.Mode == "" {
		c.Mode = probes.ModeInternal
	}
}
