package probes

import (
	"context"
	"crypto/x509"
	"fmt"
)

// KindSpec declares a probe kind once. Everything the code knows about a kind
// is read from here: the catalogue's probe for it, the phase named when a
// check is cut before it could say more, the transport its firewall rule
// names in hints, whether the plan shows its target as a destination, and
// whether its name is worth resolving ahead. A new kind is one entry here
// and its probe's file.
type KindSpec struct {
	Kind Kind
	// FirstPhase is where a check of this kind starts.
	FirstPhase Phase
	// Protocol is the transport of the traffic a check of this kind sends
	// (its facet, and the word a rule that lets it through names in hints);
	// none for kinds that send nothing of their own, or several things.
	Protocol Protocol
	// Dials says a check of this kind looks up its target's host name and
	// connects to it: its target is a destination (host:port in the plan,
	// with a port), and its name is worth resolving ahead.
	Dials bool
	// New builds the probe for a catalogue endpoint; nil for kinds whose
	// checks their own package builds (dns: resolver, path: pathtrace,
	// analysis: the judges).
	New func(Endpoint) Probe
}

// Endpoint is what a catalogue entry gives a kind's probe.
type Endpoint struct {
	Host string
	Port int
	// URL is the request an http check makes.
	URL        string
	Resolver   Resolver
	RootCAs    *x509.CertPool
	AzureRoots *x509.CertPool
	// InterceptIsWarn reports TLS interception as warn (optional dependencies).
	InterceptIsWarn bool
	// ReachOnly: a completed handshake is the test (TLS).
	ReachOnly bool
	// Expect judges an http check's answer.
	Expect HTTPExpect
}

// registry is every kind, in SPEC's order.
var registry = []KindSpec{
	{Kind: KindTCP, FirstPhase: PhaseResolve, Protocol: ProtoTCP, Dials: true,
		New: func(e Endpoint) Probe { return TCP{Host: e.Host, Port: e.Port, Resolver: e.Resolver} }},
	{Kind: KindTLS, FirstPhase: PhaseResolve, Protocol: ProtoTCP, Dials: true,
		New: func(e Endpoint) Probe {
			return TLS{Host: e.Host, Port: e.Port, Resolver: e.Resolver, RootCAs: e.RootCAs,
				AzureRoots: e.AzureRoots, InterceptIsWarn: e.InterceptIsWarn, ReachOnly: e.ReachOnly}
		}},
	{Kind: KindHTTP, FirstPhase: PhaseResolve, Protocol: ProtoTCP, Dials: true,
		New: func(e Endpoint) Probe {
			return HTTP{URL: e.URL, Resolver: e.Resolver, RootCAs: e.RootCAs,
				AzureRoots: e.AzureRoots, InterceptIsWarn: e.InterceptIsWarn, Expect: e.Expect}
		}},
	{Kind: KindDNS, FirstPhase: PhaseDNS, Protocol: ProtoNone},
	{Kind: KindPath, FirstPhase: PhaseResolve, Protocol: ProtoTCP, Dials: true},
	{Kind: KindNTP, FirstPhase: PhaseResolve, Protocol: ProtoUDP, Dials: true,
		New: func(e Endpoint) Probe { return NTP{Host: e.Host, Port: e.Port, Resolver: e.Resolver} }},
	{Kind: KindAnalysis, FirstPhase: PhaseAnalysis},
}

// Kinds lists the kinds, in SPEC's order, for documentation and the
// report's JSON Schema.
func Kinds() []Kind {
	out := make([]Kind, len(registry))
	for i, s := range registry {
		out[i] = s.Kind
	}
	return out
}

// LookupKind returns k's declaration, and false for a word that is not a
// kind.
func LookupKind(k Kind) (KindSpec, bool) {
	for _, s := range registry {
		if s.Kind == k {
			return s, true
		}
	}
	return KindSpec{Kind: k, FirstPhase: PhaseAnalysis}, false
}

// Spec is k's declaration; a word that is not a kind dials nothing and
// starts in phase analysis.
func (k Kind) Spec() KindSpec {
	s, _ := LookupKind(k)
	return s
}

// Dials says whether a check of this kind looks up its target's host name
// and connects to it (the kinds whose names are worth resolving ahead).
func (k Kind) Dials() bool { return k.Spec().Dials }

// FirstPhase is where a check of this kind starts: the phase named when it
// was cut before it could say more.
func (k Kind) FirstPhase() Phase { return k.Spec().FirstPhase }

// Probe builds the probe of kind k for a catalogue endpoint. A kind the
// catalogue cannot build (a catalogue bug, caught by its tests) gives a probe
// that fails with reason error, naming it.
func (k Kind) Probe(e Endpoint) Probe {
	if s := k.Spec(); s.New != nil {
		return s.New(e)
	}
	return ProbeFunc(func(context.Context) Result {
		return Failf(ReasonError, k.FirstPhase(), fmt.Sprintf("no probe builds a catalogue check of kind %q (a bug in apimprobe: please report it)", k))
	})
}
