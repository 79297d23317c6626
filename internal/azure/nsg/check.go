package nsg

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// FlowResult judges one required flow against the NSGs associated with the
// subnet (the NIC-level NSG of this VM does not apply to API Management's
// machines, so callers pass subnet groups only) and the security admin rules
// of any network manager, which apply to the whole virtual network and are
// evaluated first: an admin Deny or AlwaysAllow decides, an admin Allow or no
// matching admin rule leaves it to the NSGs. required selects fail or warn
// when the flow is blocked. The hint names the rule to add and the priority
// it needs.
func FlowResult(all []Group, f Flow, required bool) probes.Result {
	j := flowJudge{f: f, required: required, ev: map[string]any{"flow": f.String()}}
	var groups, admins []Group
	for _, g := range all {
		if g.IsAdmin() {
			admins = append(admins, g)
		} else {
			groups = append(groups, g)
		}
	}
	final, finalGroup, adminAllow := adminVerdict(admins, f)
	if final != nil {
		return j.byAdmin(*final, finalGroup)
	}
	adminNote := ""
	if len(adminAllow) > 0 {
		j.ev["admin_allow"] = adminAllow
		adminNote = "; " + strings.Join(adminAllow, ", ") + " leaves it to the NSGs"
	}
	if len(groups) == 0 {
		return j.noNSG(adminNote)
	}
	return j.byNSGs(groups, adminNote)
}

// flowJudge is one flow being judged: its evidence grows as the judging
// goes, and a blocked flow fails when it is required, else warns.
type flowJudge struct {
	f        Flow
	required bool
	ev       map[string]any
}

func (j flowJudge) bad(msg string) probes.Result {
	res := probes.Warnf(probes.ReasonNSGRule, probes.PhaseAnalysis, msg)
	if j.required {
		res = probes.Failf(probes.ReasonNSGRule, probes.PhaseAnalysis, msg)
	}
	res.Evidence = j.ev
	return res
}

func (j flowJudge) pass(msg string) probes.Result {
	res := probes.Passf(msg)
	res.Evidence = j.ev
	return res
}

// adminVerdict evaluates the security admin rules: the first final verdict
// (a Deny wins over an AlwaysAllow met before it), or nil with the admin
// Allow rules that leave the flow to the NSGs, named for the message.
func adminVerdict(admins []Group, f Flow) (final *Verdict, finalGroup Group, adminAllow []string) {
	for _, g := range admins {
		v := Evaluate(g, f)
		switch {
		case v.Final() && !v.Allowed:
			final, finalGroup = &v, g // a Deny ends it whatever else allows
		case v.Final() && final == nil:
			final, finalGroup = &v, g
		case v.Allowed:
			adminAllow = append(adminAllow, "security admin rule "+v.Decisive.String()+" of network manager "+g.Name())
		}
		if final != nil && !final.Allowed {
			break
		}
	}
	return final, finalGroup, adminAllow
}

// byAdmin is the result when a security admin rule decides: NSGs are not
// consulted, and no NSG rule can change a Deny.
func (j flowJudge) byAdmin(final Verdict, g Group) probes.Result {
	f := j.f
	j.ev["network_manager"] = g.Name()
	j.ev["admin_rule"] = final.Decisive.String()
	if final.Allowed {
		return j.pass(fmt.Sprintf("%s is allowed by security admin rule %s of network manager %s; NSGs are not consulted",
			f, final.Decisive, g.Name()))
	}
	what := "denies"
	if final.PartialDeny {
		what = "denies part of"
	}
	res := j.bad(fmt.Sprintf("security admin rule %s of network manager %s %s %s; admin rules are evaluated before NSGs, so no NSG rule can allow it",
		final.Decisive, g.Name(), what, f))
	res.Rule = ruleSeen(g, final.Decisive, f)
	res.Hint = fmt.Sprintf("Change or remove security admin rule %s in Azure Virtual Network Manager %s, or add an Allow (or AlwaysAllow) admin rule for %s %s port %s from %s to %s with a priority number below %d; an NSG rule cannot override it.",
		shortName(final.Decisive.Name), g.Name(), strings.ToLower(f.Direction), strings.ToUpper(f.Protocol), f.Ports(),
		tagOrAny(f.Source), tagOrAny(f.Destination), final.Decisive.Priority)
	return res
}

// noNSG is the result when no NSG is associated with the subnet: outbound
// nothing filters, inbound API Management's load balancer denies.
func (j flowJudge) noNSG(adminNote string) probes.Result {
	if strings.EqualFold(j.f.Direction, "Inbound") {
		res := j.bad("no NSG is associated with the subnet; API Management's load balancer denies inbound traffic unless an NSG allows it")
		res.Hint = "Associate an NSG with the subnet and add " + ruleToAdd(j.f, "") + "."
		return res
	}
	return j.pass("no NSG is associated with the subnet, so nothing filters " + j.f.String() + adminNote)
}

// byNSGs is the result of the subnet's NSGs: the first that does not allow
// the flow decides, with the rule to add (and the one to narrow); the flow
// passes when every one allows it.
func (j flowJudge) byNSGs(groups []Group, adminNote string) probes.Result {
	f := j.f
	var names []string
	for _, g := range groups {
		names = append(names, g.Name())
	}
	j.ev["nsg"] = names
	for _, g := range groups {
		v := Evaluate(g, f)
		if len(v.Shadowed) > 0 {
			var s []string
			for _, r := range v.Shadowed {
				s = append(s, r.String())
			}
			j.ev["partial_matches"] = s
		}
		if v.Allowed {
			continue
		}
		j.ev["nsg_denying"] = g.Name()
		if v.Decisive == nil {
			res := j.bad(fmt.Sprintf("no rule in NSG %s allows %s%s", g.Name(), f, adminNote))
			res.Rule = ruleSeen(g, nil, f)
			res.Hint = fmt.Sprintf("Add to NSG %s %s.", g.Name(), ruleToAdd(f, ""))
			return res
		}
		j.ev["rule"] = v.Decisive.String()
		what := "denies"
		if v.PartialDeny {
			what = "denies part of"
		}
		res := j.bad(fmt.Sprintf("rule %s in NSG %s %s %s%s", v.Decisive, g.Name(), what, f, adminNote))
		res.Rule = ruleSeen(g, v.Decisive, f)
		if strings.HasPrefix(v.Decisive.Name, "defaultSecurityRules/") || v.Decisive.Priority >= 65000 {
			res.Hint = fmt.Sprintf("Add to NSG %s %s.", g.Name(), ruleToAdd(f, ""))
		} else {
			res.Hint = fmt.Sprintf("Add to NSG %s %s, or narrow rule %s.", g.Name(),
				ruleToAdd(f, fmt.Sprintf("a priority number below %d", v.Decisive.Priority)), shortName(v.Decisive.Name))
		}
		return res
	}
	var allowedBy []string
	for _, g := range groups {
		if v := Evaluate(g, f); v.Decisive != nil {
			allowedBy = append(allowedBy, g.Name()+": "+v.Decisive.String())
		}
	}
	j.ev["allowed_by"] = allowedBy
	return j.pass(fmt.Sprintf("%s is allowed (%s)%s", f, strings.Join(allowedBy, "; "), adminNote))
}

// ruleSeen is the deciding rule in probes' typed form, for the findings
// that name one rule once for every flow it denies.
func ruleSeen(g Group, r *Rule, f Flow) *probes.RuleSeen {
	rs := &probes.RuleSeen{
		Admin: g.IsAdmin(), GroupID: g.ID, Group: g.Name(),
		Direction: f.Direction, Protocol: f.Protocol, Port: f.Port,
		Source: endName(f.Source), Destination: endName(f.Destination),
	}
	if r != nil {
		rs.Name, rs.Priority, rs.Access = shortName(r.Name), int(r.Priority), r.Access
	}
	return rs
}

func endName(e Endpoint) string {
	if s := e.String(); s != "" {
		return s
	}
	return "*"
}

func ruleToAdd(f Flow, priority string) string {
	s := fmt.Sprintf("an %s rule allowing %s port %s from %s to %s",
		strings.ToLower(f.Direction), strings.ToUpper(f.Protocol), f.Ports(), tagOrAny(f.Source), tagOrAny(f.Destination))
	if priority != "" {
		s += " with " + priority
	}
	return s
}

func tagOrAny(e Endpoint) string {
	if e.Tag != "" {
		return "service tag " + e.Tag
	}
	if len(e.Prefixes) > 0 {
		return e.String()
	}
	return "any"
}
