package run

import (
	"context"
	"net/netip"
	"sync"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/resolver"
)

// facts is the one owner of what a run knows about its context. Each value
// has one resolution order — the flag, then the metadata service, then
// Resource Manager — kept by discovery (azdiscover.Context); facts adds the
// deployment phase the run decides, and serves the DNS expectation from the
// same values, waiting for Resource Manager when a judgement needs what only
// it can tell (the instance's VIP).
type facts struct {
	mode probes.Mode
	disc *azdiscover.Discovery

	mu    sync.Mutex
	phase probes.DeployPhase
}

var _ resolver.Expecter = (*facts)(nil)

func (f *facts) setPhase(p probes.DeployPhase) {
	f.mu.Lock()
	f.phase = p
	f.mu.Unlock()
}

func (f *facts) deployPhase() probes.DeployPhase {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phase
}

// Known is the expectation from what discovery knows now.
func (f *facts) Known() resolver.Expectation {
	return expectationOf(f.mode, f.deployPhase(), f.disc.Context())
}

// Settled waits for Resource Manager when the instance's VIP is not known
// yet and the mode's judgement depends on it.
func (f *facts) Settled(ctx context.Context) (resolver.Expectation, []string) {
	exp := f.Known()
	if vipKnown(exp) {
		return exp, nil
	}
	// The instance's own read, not the long-running ones.
	if !f.disc.WaitInstance(ctx) {
		return exp, []string{vipWord(exp)}
	}
	return f.Known(), nil
}

func vipKnown(exp resolver.Expectation) bool {
	if exp.ExpectsPrivate() {
		return exp.PrivateIP.IsValid()
	}
	return exp.PublicIP.IsValid()
}

func vipWord(exp resolver.Expectation) string {
	if exp.ExpectsPrivate() {
		return "the instance's private VIP"
	}
	return "the instance's public VIP"
}

// expectationOf reads the DNS expectation out of the discovered context.
func expectationOf(mode probes.Mode, phase probes.DeployPhase, c azdiscover.Context) resolver.Expectation {
	exp := resolver.Expectation{Mode: mode, Phase: phase}
	if p, err := resolver.ParseSubnet(c.Subnet); err == nil {
		exp.Subnet = p
	}
	if a, err := netip.ParseAddr(c.InstancePrivateIP); err == nil {
		exp.PrivateIP = a
	}
	if a, err := netip.ParseAddr(c.InstancePublicIP); err == nil {
		exp.PublicIP = a
	}
	return exp
}
