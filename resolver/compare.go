package resolver

import (
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Expectation is what an answer is judged against. Every field is optional;
// the judgement uses what is known and says so.
type Expectation struct {
	Mode probes.Mode
	// Phase is pre, post or auto (""); it decides whether a name that exists
	// nowhere is a failure (post) or an instance not deployed yet.
	Phase     probes.DeployPhase
	PrivateIP netip.Addr   // the instance's private VIP (--private-ip, ARM)
	PublicIP  netip.Addr   // the instance's public VIP, when known (ARM)
	Subnet    netip.Prefix // the APIM subnet (--subnet, IMDS)
	VNet      []netip.Prefix
}

// ExpectsPrivate says whether the instance's names must resolve to a private
// VIP: internal mode and Premium v2 injection. External mode and v2 outbound
// integration answer from the public zone with the public VIP.
func (e Expectation) ExpectsPrivate() bool {
	return e.Mode == "" || e.Mode == probes.ModeInternal || e.Mode == probes.ModeV2Injected
}

// AddrClass places an answer relative to the subnet and the expected VIP.
type AddrClass string

const (
	ClassExpectedVIP AddrClass = "expected-vip"
	ClassSubnet      AddrClass = "subnet"  // inside the subnet, not the VIP
	ClassPrivate     AddrClass = "private" // private elsewhere: VNet or private ranges
	ClassPublic      AddrClass = "public"
)

// cgnat is shared address space (RFC 6598): not routed on the internet and
// used by some VNets, so an answer there is not a public answer.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Class places a. VNet prefixes count as private whatever their range: a
// VNet may use any address space, so RFC 1918 alone never decides.
func (e Expectation) Class(a netip.Addr) AddrClass {
	a = a.Unmap()
	switch {
	case e.PrivateIP.IsValid() && a == e.PrivateIP.Unmap():
		return ClassExpectedVIP
	case e.Subnet.IsValid() && e.Subnet.Contains(a):
		return ClassSubnet
	}
	for _, p := range e.VNet {
		if p.IsValid() && p.Contains(a) {
			return ClassPrivate
		}
	}
	if a.IsPrivate() || cgnat.Contains(a) || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return ClassPrivate
	}
	return ClassPublic
}

// judgeInstance judges one server's view of an instance host name against
// the expectation: ok, or the reason and what was wrong.
func (e Expectation) judgeInstance(v View) (probes.Reason, string) {
	if r := v.Reason(); r != probes.ReasonOK {
		return r, v.Describe()
	}
	var public, notVIP, notSubnet, private []string
	for _, a := range v.Addrs {
		c := e.Class(a)
		switch c {
		case ClassPublic:
			public = append(public, a.String())
		default:
			private = append(private, a.String())
		}
		if c != ClassExpectedVIP {
			notVIP = append(notVIP, a.String())
		}
		if c != ClassExpectedVIP && c != ClassSubnet {
			notSubnet = append(notSubnet, a.String())
		}
	}
	if !e.ExpectsPrivate() {
		if len(private) > 0 {
			return probes.ReasonWrongAnswer, fmt.Sprintf("%s is private; %s mode answers with the public VIP from the public zone", strings.Join(private, ", "), e.Mode)
		}
		if e.PublicIP.IsValid() && !containsAddr(v.Addrs, e.PublicIP) {
			return probes.ReasonWrongAnswer, fmt.Sprintf("%s is not the instance's public VIP %s", joinAddrs(v.Addrs), e.PublicIP)
		}
		return probes.ReasonOK, ""
	}
	switch {
	case len(public) > 0:
		return probes.ReasonPublicAnswer, fmt.Sprintf("%s is public; the private VIP was expected", strings.Join(public, ", "))
	case e.PrivateIP.IsValid() && len(notVIP) > 0:
		return probes.ReasonWrongAnswer, fmt.Sprintf("%s is not the expected private VIP %s", strings.Join(notVIP, ", "), e.PrivateIP)
	case e.Subnet.IsValid() && len(notSubnet) > 0:
		return probes.ReasonWrongAnswer, fmt.Sprintf("%s is outside the subnet %s", strings.Join(notSubnet, ", "), e.Subnet)
	}
	return probes.ReasonOK, ""
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if b.Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}

// ViewEvidence is one server's view in the report's evidence.
type ViewEvidence struct {
	Resolver   string            `json:"resolver"`
	Role       Role              `json:"role"`
	Source     string            `json:"source"`
	Name       string            `json:"name,omitempty"`
	Rcode      string            `json:"rcode,omitempty"`
	Outcome    probes.Reason     `json:"outcome"`
	Answers    []AnswerEvidence  `json:"answers,omitempty"`
	CNAMEChain []string          `json:"cname_chain,omitempty"`
	Transport  string            `json:"transport,omitempty"`
	RTTms      float64           `json:"rtt_ms"`
	SOA        map[string]string `json:"soa,omitempty"`
	Error      string            `json:"error,omitempty"`
	// AnswersDropped counts the addresses beyond the ones kept (maxAddrs).
	AnswersDropped int `json:"answers_dropped,omitempty"`
}

// AnswerEvidence is one address and where it lies.
type AnswerEvidence struct {
	Address string    `json:"address"`
	Class   AddrClass `json:"class"`
}

// Lookups is every view in probes' typed form, for analyses that correlate
// checks (package findings). A server still pending when the answer was
// taken from another is left out: it said nothing yet; so is a server that
// was not asked.
func (c Comparison) Lookups() []probes.Lookup {
	out := make([]probes.Lookup, 0, len(c.Views))
	for _, v := range c.Views {
		if v.Err == errPending || v.Err == errNotAsked {
			continue
		}
		l := probes.Lookup{Server: v.Server.Addr.String(), Azure: v.Server.Role == RoleAzure, Outcome: v.Reason()}
		for _, a := range v.Addrs {
			l.Addrs = append(l.Addrs, a.String())
		}
		out = append(out, l)
	}
	return out
}

// Evidence renders every view for the report: per resolver the answers with
// their class, the CNAME chain, rcode, transport and round-trip time. A
// server that was not asked (the VM's own server answered without needing
// its view) is left out.
func (c Comparison) Evidence(e Expectation) []ViewEvidence {
	out := make([]ViewEvidence, 0, len(c.Views))
	for _, v := range c.Views {
		if v.Err == errNotAsked {
			continue
		}
		out = append(out, v.evidence(e))
	}
	return out
}

func (v View) evidence(e Expectation) ViewEvidence {
	ev := ViewEvidence{
		Resolver:  v.Server.Addr.String(),
		Role:      v.Server.Role,
		Source:    v.Server.Source,
		Name:      v.Name,
		Outcome:   v.Reason(),
		Transport: v.Transport,
		RTTms:     math.Round(float64(v.RTT.Microseconds())/10) / 100,
	}
	if v.Rcode >= 0 {
		ev.Rcode = rcodeString(v.Rcode)
	}
	for _, a := range v.Addrs {
		ev.Answers = append(ev.Answers, AnswerEvidence{Address: a.String(), Class: e.Class(a)})
	}
	if len(v.Chain) > 1 {
		ev.CNAMEChain = v.Chain
	}
	ev.AnswersDropped = v.Dropped
	if v.SOA != nil {
		ev.SOA = map[string]string{"zone": strings.TrimSuffix(v.SOA.Hdr.Name, "."), "mname": strings.TrimSuffix(v.SOA.Ns, "."), "rname": strings.TrimSuffix(v.SOA.Mbox, ".")}
	}
	switch {
	case v.Err == errPending:
		ev.Outcome = "pending"
		ev.Error = errPending.Error()
	case v.Err != nil:
		ev.Error = v.Describe()
	case v.ChainCut:
		ev.Error = v.chainCutText()
	}
	return ev
}

// privateLinkProblem reports a private endpoint whose name resolves to a
// public address on the VM's own resolver: a "privatelink." hop means a
// private endpoint exists, so the answer must be private.
func privateLinkProblem(e Expectation, c Comparison, i int) *probes.Result {
	v := c.Views[i]
	hop := privateLinkHop(v.Chain)
	if hop == "" {
		return nil
	}
	var public []string
	for _, a := range v.Addrs {
		if e.Class(a) == ClassPublic {
			public = append(public, a.String())
		}
	}
	if len(public) == 0 {
		return nil
	}
	zone := hop[strings.Index(hop, "privatelink."):]
	r := probes.Failf(probes.ReasonPublicAnswer, probes.PhaseResolve, fmt.Sprintf(
		"%s has a private endpoint (CNAME %s) but %s answers the public address %s",
		c.Host, hop, v.Server.Addr, strings.Join(public, ", ")))
	if v.Server.Role == RoleAzure {
		r.Hint = fmt.Sprintf("Link the private DNS zone %s (holding the private endpoint's A record) to this VNet, so %s resolves to its private endpoint.", zone, c.Host)
	} else {
		r.Hint = fmt.Sprintf("Link the private DNS zone %s to this VNet, or make DNS server %s forward %s to Azure DNS (168.63.129.16), so %s resolves to its private endpoint.",
			zone, v.Server.Addr.Addr(), zone, c.Host)
	}
	r.Addresses = public
	return &r
}

// privateLinkHop returns the first name in the chain with a "privatelink"
// label, or "".
func privateLinkHop(chain []string) string {
	for _, n := range chain {
		l := strings.ToLower(n)
		if strings.HasPrefix(l, "privatelink.") || strings.Contains(l, ".privatelink.") {
			return n
		}
	}
	return ""
}
