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
	bad := func(msg string) probes.Result {
		if required {
			return probes.Failf(probes.ReasonNSGRule, probes.PhaseAnalysis, msg)
		}
		return probes.Warnf(probes.ReasonNSGRule, probes.PhaseAnalysis, msg)
	}
	ev := map[string]any{"flow": f.String()}
	var groups, admins []Group
	for _, g := range all {
		if g.IsAdmin() {
			admins = append(admins, g)
		} else {
			groups = append(groups, g)
		}
	}
	// adminAllow names admin Allow rules that let the NSGs decide, for the
	// message.
	var adminAllow []string
	var final *Verdict
	var finalGroup Group
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
	if final != nil {
		ev["network_manager"] = finalGroup.Name()
		ev["admin_rule"] = final.Decisive.String()
		if final.Allowed {
			res := probes.Passf(fmt.Sprintf("%s is allowed by security admin rule %s of network manager %s; NSGs are not consulted",
				f, final.Decisive, finalGroup.Name()))
			res.Evidence = ev
			return res
		}
		what := "denies"
		if final.PartialDeny {
			what = "denies part of"
		}
		res := bad(fmt.Sprintf("security admin rule %s of network manager %s %s %s; admin rules are evaluated before NSGs, so no NSG rule can allow it",
			final.Decisive, finalGroup.Name(), what, f))
		res.Evidence = ev
		res.Rule = ruleSeen(finalGroup, final.Decisive, f)
		res.Hint = fmt.Sprintf("Change or remove security admin rule %s in Azure Virtual Network Manager %s, or add an Allow (or AlwaysAllow) admin rule for %s %s port %s from %s to %s with a priority number below %d; an NSG rule cannot override it.",
			shortName(final.Decisive.Name), finalGroup.Name(), strings.ToLower(f.Direction), strings.ToUpper(f.Protocol), f.Ports(),
			tagOrAny(f.Source), tagOrAny(f.Destination), final.Decisive.Priority)
		return res
	}
	if len(adminAllow) > 0 {
		ev["admin_allow"] = adminAllow
	}
	adminNote := ""
	if len(adminAllow) > 0 {
		adminNote = "; " + strings.Join(adminAllow, ", ") + " leaves it to the NSGs"
	}
	if len(groups) == 0 {
		if strings.EqualFold(f.Direction, "Inbound") {
			res := bad("no NSG is associated with the subnet; API Management's load balancer denies inbound traffic unless an NSG allows it")
			res.Evidence = ev
			res.Hint = "Associate an NSG with the subnet and add " + ruleToAdd(f, "") + "."
			return res
		}
		res := probes.Passf("no NSG is associated with the subnet, so nothing filters " + f.String() + adminNote)
		res.Evidence = ev
		return res
	}
	var names []string
	for _, g := range groups {
		names = append(names, g.Name())
	}
	ev["nsg"] = names
	for _, g := range groups {
		v := Evaluate(g, f)
		if len(v.Shadowed) > 0 {
			var s []string
			for _, r := range v.Shadowed {
				s = append(s, r.String())
			}
			ev["partial_matches"] = s
		}
		if v.Allowed {
			continue
		}
		ev["nsg_denying"] = g.Name()
		if v.Decisive == nil {
			res := bad(fmt.Sprintf("no rule in NSG %s allows %s%s", g.Name(), f, adminNote))
			res.Evidence = ev
			res.Rule = ruleSeen(g, nil, f)
			res.Hint = fmt.Sprintf("Add to NSG %s %s.", g.Name(), ruleToAdd(f, ""))
			return res
		}
		ev["rule"] = v.Decisive.String()
		what := "denies"
		if v.PartialDeny {
			what = "denies part of"
		}
		res := bad(fmt.Sprintf("rule %s in NSG %s %s %s%s", v.Decisive, g.Name(), what, f, adminNote))
		res.Evidence = ev
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
	ev["allowed_by"] = allowedBy
	res := probes.Passf(fmt.Sprintf("%s is allowed (%s)%s", f, strings.Join(allowedBy, "; "), adminNote))
	res.Evidence = ev
	return res
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
