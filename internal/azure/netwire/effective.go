// Package netwire decodes Resource Manager's answers about the network as
// they arrive on the wire (effective routes, effective NSGs, an NSG's
// rules) into the types the judges take (routes.Route, nsg.Group). It is
// pure: discover reads the bodies, netwire only decodes them.
package netwire

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
)

// The effective route table and effective NSGs are read into types of our
// own over the raw REST body, not armnetwork's: real answers carry tagMap
// as a JSON object where the SDK declares a string (so the whole NSG list
// fails to unmarshal), and routes carry destinationServiceTags, tagMap and
// hasBgpOverride that the SDK drops (azure-facts §11.1, §11.2). The SDK's
// pipeline (token, retries) and poller still carry the requests.

// StringList is a JSON array of strings that also takes one string or null.
type StringList []string

func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = nil
		if s != "" {
			*l = StringList{s}
		}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// TagMap is a service tag → prefixes map as real ARM sends it (an object),
// as the REST spec declares it (a string holding JSON), or null. It is
// supplementary, so an unreadable tagMap is ignored, never an error that
// would cost the whole list.
type TagMap map[string][]string

func (m *TagMap) UnmarshalJSON(b []byte) error {
	*m = nil
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = bytes.TrimSpace([]byte(s))
	}
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	out := make(TagMap, len(raw))
	for k, v := range raw {
		var l StringList
		if json.Unmarshal(v, &l) == nil && k != "" {
			out[k] = l
		}
	}
	*m = out
	return nil
}

// lookup finds a tag case-insensitively.
func (m TagMap) lookup(tag string) ([]string, bool) {
	if v, ok := m[tag]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, tag) {
			return v, true
		}
	}
	return nil, false
}

type SubResource struct {
	ID string `json:"id"`
}

// EffectiveRouteList is the body of effectiveRouteTable.
type EffectiveRouteList struct {
	Value *[]struct {
		Name                       string     `json:"name"`
		Source                     string     `json:"source"`
		State                      string     `json:"state"`
		DisableBgpRoutePropagation bool       `json:"disableBgpRoutePropagation"`
		HasBgpOverride             bool       `json:"hasBgpOverride"`
		AddressPrefix              StringList `json:"addressPrefix"`
		NextHopType                string     `json:"nextHopType"`
		NextHopIPAddress           StringList `json:"nextHopIpAddress"`
		DestinationServiceTags     StringList `json:"destinationServiceTags"`
		TagMap                     TagMap     `json:"tagMap"`
	} `json:"value"`
}

// EffectiveNSGList is the body of effectiveNetworkSecurityGroups.
type EffectiveNSGList struct {
	Value *[]struct {
		NetworkSecurityGroup *SubResource `json:"networkSecurityGroup"`
		Association          struct {
			Subnet           *SubResource `json:"subnet"`
			NetworkInterface *SubResource `json:"networkInterface"`
			NetworkManager   *SubResource `json:"networkManager"`
		} `json:"association"`
		EffectiveSecurityRules []effectiveRule `json:"effectiveSecurityRules"`
		TagMap                 TagMap          `json:"tagMap"`
	} `json:"value"`
}

type effectiveRule struct {
	Name string `json:"name"`
	RuleWire
	ExpandedSourceAddressPrefix      StringList `json:"expandedSourceAddressPrefix"`
	ExpandedDestinationAddressPrefix StringList `json:"expandedDestinationAddressPrefix"`
}

func ConvertRoutes(in EffectiveRouteList) ([]routes.Route, error) {
	if in.Value == nil {
		return nil, arm.Malformed("the effective route table has no \"value\" array")
	}
	out := make([]routes.Route, 0, len(*in.Value))
	for _, er := range *in.Value {
		rt := routes.Route{Name: er.Name, NextHopType: er.NextHopType, Source: er.Source, State: er.State,
			NextHopIPs: er.NextHopIPAddress, HasBgpOverride: er.HasBgpOverride, DisableBgpRoutePropagation: er.DisableBgpRoutePropagation}
		seen := map[netip.Prefix]bool{}
		addPrefix := func(p netip.Prefix) {
			if !seen[p] {
				seen[p] = true
				rt.Prefixes = append(rt.Prefixes, p)
			}
		}
		addTag := func(t string) {
			t = strings.TrimSpace(t)
			if t != "" && !wire.ContainsFold(rt.ServiceTags, t) {
				rt.ServiceTags = append(rt.ServiceTags, t)
			}
		}
		for _, a := range er.AddressPrefix {
			if p, ok := wire.ParsePrefix(a); ok {
				addPrefix(p)
			} else {
				// A service tag's name in place of a CIDR: kept, and
				// expanded from the service tags at analysis time.
				addTag(a)
			}
		}
		for _, t := range er.DestinationServiceTags {
			addTag(t)
		}
		for tag, ps := range er.TagMap {
			addTag(tag)
			var pp []netip.Prefix
			for _, s := range ps {
				if p, ok := wire.ParsePrefix(s); ok {
					pp = append(pp, p)
					addPrefix(p)
				}
			}
			if rt.TagPrefixes == nil {
				rt.TagPrefixes = map[string][]netip.Prefix{}
			}
			rt.TagPrefixes[tag] = pp
		}
		out = append(out, rt)
	}
	return out, nil
}

func ConvertNSGs(in EffectiveNSGList) ([]nsg.Group, error) {
	if in.Value == nil {
		return nil, arm.Malformed("the effective NSG list has no \"value\" array")
	}
	var out []nsg.Group
	for _, g := range *in.Value {
		grp := nsg.Group{Scope: "nic"}
		if g.NetworkSecurityGroup != nil {
			grp.ID = g.NetworkSecurityGroup.ID
		}
		a := g.Association
		switch {
		case a.NetworkManager != nil && a.NetworkManager.ID != "":
			// Security admin rules: named after their network manager.
			grp.Scope, grp.ID = nsg.ScopeNetworkManager, a.NetworkManager.ID
		case a.Subnet != nil && a.Subnet.ID != "":
			grp.Scope = "subnet"
		}
		for _, er := range g.EffectiveSecurityRules {
			rule := er.Rule(er.Name)
			rule.ExpandedSources = expand(er.ExpandedSourceAddressPrefix, rule.Sources, g.TagMap)
			rule.ExpandedDestinations = expand(er.ExpandedDestinationAddressPrefix, rule.Destinations, g.TagMap)
			grp.Rules = append(grp.Rules, rule)
		}
		out = append(out, grp)
	}
	return out, nil
}

// expand returns the rule's expanded prefixes, or, when Resource Manager
// left them out, those the group's tagMap lists for the rule's tags.
func expand(expanded []string, items []string, m TagMap) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range expanded {
		if p, ok := wire.ParsePrefix(s); ok {
			out = append(out, p)
		}
	}
	if len(out) > 0 || len(m) == 0 {
		return out
	}
	for _, it := range items {
		if _, ok := wire.ParsePrefix(it); ok || it == "*" {
			continue
		}
		ps, _ := m.lookup(it)
		for _, s := range ps {
			if p, ok := wire.ParsePrefix(s); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// joinUnique merges the single and the plural field (real answers fill
// both, and repeat items) without duplicates.
func joinUnique(one string, many []string) []string {
	var out []string
	for _, s := range append([]string{one}, many...) {
		if s = strings.TrimSpace(s); s != "" && !wire.ContainsFold(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RuleWire is a security rule's fields as both an NSG resource (under
// properties) and an effective NSG list (flat) send them.
type RuleWire struct {
	Protocol                   string     `json:"protocol"`
	SourcePortRange            string     `json:"sourcePortRange"`
	DestinationPortRange       string     `json:"destinationPortRange"`
	SourcePortRanges           StringList `json:"sourcePortRanges"`
	DestinationPortRanges      StringList `json:"destinationPortRanges"`
	SourceAddressPrefix        string     `json:"sourceAddressPrefix"`
	DestinationAddressPrefix   string     `json:"destinationAddressPrefix"`
	SourceAddressPrefixes      StringList `json:"sourceAddressPrefixes"`
	DestinationAddressPrefixes StringList `json:"destinationAddressPrefixes"`
	Access                     string     `json:"access"`
	Priority                   int32      `json:"priority"`
	Direction                  string     `json:"direction"`
}

// Rule is the named rule as the evaluator takes it, its tags unexpanded.
func (p RuleWire) Rule(name string) nsg.Rule {
	return nsg.Rule{
		Name: name, Priority: p.Priority, Direction: p.Direction, Access: p.Access, Protocol: p.Protocol,
		SourcePorts:      joinUnique(p.SourcePortRange, p.SourcePortRanges),
		DestinationPorts: joinUnique(p.DestinationPortRange, p.DestinationPortRanges),
		Sources:          joinUnique(p.SourceAddressPrefix, p.SourceAddressPrefixes),
		Destinations:     joinUnique(p.DestinationAddressPrefix, p.DestinationAddressPrefixes),
	}
}
