package probes

import (
	"fmt"
	"strings"
)

// This file is apimprobe's typed vocabulary, in one place: the words SPEC
// fixes (status, reason, failed phase, mode, deployment phase, cloud,
// Resource Manager credential) and the kinds of probe. Every package uses
// these types; none spells the lists out again.

// Status is SPEC's check status.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Reason is SPEC's closed vocabulary of causes. Never invent a word outside it.
type Reason string

const (
	ReasonOK               Reason = "ok"
	ReasonTimeout          Reason = "timeout"
	ReasonRefused          Reason = "refused"
	ReasonUnreachable      Reason = "unreachable"
	ReasonReset            Reason = "reset"
	ReasonNXDomain         Reason = "nxdomain"
	ReasonServFail         Reason = "servfail"
	ReasonNoAnswer         Reason = "no-answer"
	ReasonDNSTimeout       Reason = "dns-timeout"
	ReasonWrongAnswer      Reason = "wrong-answer"
	ReasonPublicAnswer     Reason = "public-answer"
	ReasonResolverDisagree Reason = "resolver-disagree"
	ReasonTLSHandshake     Reason = "tls-handshake"
	ReasonTLSUntrusted     Reason = "tls-untrusted"
	ReasonTLSNameMismatch  Reason = "tls-name-mismatch"
	ReasonTLSIntercepted   Reason = "tls-intercepted"
	ReasonHTTPStatus       Reason = "http-status"
	ReasonHTTPBody         Reason = "http-body"
	ReasonForcedTunnel     Reason = "forced-tunnel"
	ReasonAsymmetricRoute  Reason = "asymmetric-route"
	ReasonNSGRule          Reason = "nsg-rule"
	ReasonSubnetConfig     Reason = "subnet-config"
	ReasonNoData           Reason = "no-data"
	ReasonNotApplicable    Reason = "not-applicable"
	ReasonNotObservable    Reason = "not-observable"
	ReasonDeadline         Reason = "deadline"
	ReasonError            Reason = "error"
)

// Phase names where a check failed (SPEC failed_phase).
type Phase string

const (
	PhaseNone     Phase = ""
	PhaseResolve  Phase = "resolve"
	PhaseConnect  Phase = "connect"
	PhaseTLS      Phase = "tls"
	PhaseHTTP     Phase = "http"
	PhaseDNS      Phase = "dns"
	PhaseAnalysis Phase = "analysis"
)

// Kind is the kind of probe a check runs (SPEC: a check's "kind").
type Kind string

const (
	KindTCP      Kind = "tcp"
	KindTLS      Kind = "tls"
	KindHTTP     Kind = "http"
	KindNTP      Kind = "ntp" // an NTP exchange over UDP
	KindDNS      Kind = "dns"
	KindPath     Kind = "path"
	KindAnalysis Kind = "analysis"
)

// What a kind is — its probe, first phase, protocol, whether it dials —
// is declared once, in registry.go.

// Mode is the instance's network mode (--mode).
type Mode string

const (
	ModeInternal     Mode = "internal"      // classic tiers, VNet injection, internal
	ModeExternal     Mode = "external"      // classic tiers, VNet injection, external
	ModeV2Injected   Mode = "v2-injected"   // Premium v2, VNet injection
	ModeV2Integrated Mode = "v2-integrated" // Standard/Premium v2, outbound integration
)

// Modes lists the modes in the order help texts show them.
// Statuses, Reasons and Phases list the closed vocabularies (Kinds: registry.go), in
// The identities Resource Manager is read with (--arm-credential), as
// context.credential reports them.
const (
	CredManagedIdentity = "managed-identity"
	CredAzureCLI        = "azure-cli"
	CredDefault         = "default" // azidentity's DefaultAzureCredential chain
)

// SPEC's order, for documentation and the report's JSON Schema.
func Statuses() []Status { return []Status{Pass, Warn, Fail, Skip} }

func Reasons() []Reason {
	return []Reason{
		ReasonOK, ReasonTimeout, ReasonRefused, ReasonUnreachable, ReasonReset,
		ReasonNXDomain, ReasonServFail, ReasonNoAnswer, ReasonDNSTimeout,
		ReasonWrongAnswer, ReasonPublicAnswer, ReasonResolverDisagree,
		ReasonTLSHandshake, ReasonTLSUntrusted, ReasonTLSNameMismatch, ReasonTLSIntercepted,
		ReasonHTTPStatus, ReasonHTTPBody, ReasonForcedTunnel, ReasonAsymmetricRoute,
		ReasonNSGRule, ReasonSubnetConfig, ReasonNoData, ReasonNotApplicable,
		ReasonNotObservable, ReasonDeadline, ReasonError,
	}
}

// Phases lists the failed_phase words (PhaseNone is not one).
func Phases() []Phase {
	return []Phase{PhaseResolve, PhaseConnect, PhaseTLS, PhaseHTTP, PhaseDNS, PhaseAnalysis}
}

func Modes() []Mode { return []Mode{ModeInternal, ModeExternal, ModeV2Injected, ModeV2Integrated} }

// Classic says whether the mode is one of the classic tiers' VNet modes,
// where the tool runs inside the instance's own subnet.
func (m Mode) Classic() bool { return m == ModeInternal || m == ModeExternal }

// V2 says whether the mode is a v2 tier's, whose subnet holds nothing but
// the instance (the tool runs beside it, in another subnet).
func (m Mode) V2() bool { return m == ModeV2Injected || m == ModeV2Integrated }

// Private says whether the instance's gateway is reached on a private VIP.
func (m Mode) Private() bool { return m == ModeInternal }

// DeployPhase is --phase: before or after the instance exists.
type DeployPhase string

const (
	DeployPre  DeployPhase = "pre"
	DeployPost DeployPhase = "post"
	DeployAuto DeployPhase = "auto" // decided at run time: post when the gateway's name resolves
)

// DeployPhases lists the accepted values of --phase.
func DeployPhases() []DeployPhase { return []DeployPhase{DeployPre, DeployPost, DeployAuto} }

// Cloud is --cloud.
type Cloud string

const (
	CloudPublic Cloud = "public"
	CloudUSGov  Cloud = "usgov"
	CloudChina  Cloud = "china"
)

// Clouds lists the accepted values of --cloud.
func Clouds() []Cloud { return []Cloud{CloudPublic, CloudUSGov, CloudChina} }

// ParseMode, ParseDeployPhase and ParseCloud turn a flag's text into the
// typed word, with the one-line error the operator sees.
func ParseMode(s string) (Mode, error) { return parseWord("mode", s, Modes()) }

func ParseDeployPhase(s string) (DeployPhase, error) { return parseWord("phase", s, DeployPhases()) }

func ParseCloud(s string) (Cloud, error) { return parseWord("cloud", s, Clouds()) }

func parseWord[T ~string](flag, s string, allowed []T) (T, error) {
	for _, a := range allowed {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("--%s: unknown value %q (want one of %s)", flag, s, Join(allowed, ", "))
}

// Join joins typed words as strings.Join joins strings.
func Join[T ~string](words []T, sep string) string {
	ss := make([]string, len(words))
	for i, w := range words {
		ss[i] = string(w)
	}
	return strings.Join(ss, sep)
}
