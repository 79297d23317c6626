package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
)

// The effective route table and effective NSGs are read into types of our
// own over the raw REST body, not armnetwork's: real answers carry tagMap
// as a JSON object where the SDK declares a string (so the whole NSG list
// fails to unmarshal), and routes carry destinationServiceTags, tagMap and
// hasBgpOverride that the SDK drops (azure-facts §11.1, §11.2). The SDK's
// pipeline (token, retries) and poller still carry the requests.

// networkAPIVersion is the one armnetwork v7 uses for the other reads.
const networkAPIVersion = "2025-01-01"

// postLRO starts a long-running POST and polls it to its end within ctx,
// decoding the final body into out.
func postLRO[T any](ctx context.Context, s *armSession, path string, out *T) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, s.Endpoint()+path+"?api-version="+networkAPIVersion)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := s.Pipeline().Do(req)
	if err != nil {
		return err
	}
	accepted := time.Now()
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusAccepted) {
		return runtime.NewResponseError(resp)
	}
	p, err := runtime.NewPoller(resp, s.Pipeline(), &runtime.NewPollerOptions[T]{FinalStateVia: runtime.FinalStateViaLocation, Response: out})
	if err != nil {
		return err
	}
	if _, err := arm.PollUntilDone(ctx, p, accepted); err != nil {
		return err
	}
	_, err = p.Result(ctx)
	return err
}

func (s *armSession) nicPath(op string) string {
	return "/subscriptions/" + url.PathEscape(s.Subscription()) + "/resourceGroups/" + url.PathEscape(s.snap.ResourceGroup) +
		"/providers/Microsoft.Network/networkInterfaces/" + url.PathEscape(s.snap.NICName) + "/" + op
}

// stringList is a JSON array of strings that also takes one string or null.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
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
			*l = stringList{s}
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

// tagMap is a service tag → prefixes map as real ARM sends it (an object),
// as the REST spec declares it (a string holding JSON), or null. It is
// supplementary, so an unreadable tagMap is ignored, never an error that
// would cost the whole list.
type tagMap map[string][]string

func (m *tagMap) UnmarshalJSON(b []byte) error {
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
	out := make(tagMap, len(raw))
	for k, v := range raw {
		var l stringList
		if json.Unmarshal(v, &l) == nil && k != "" {
			out[k] = l
		}
	}
	*m = out
	return nil
}

// lookup finds a tag case-insensitively.
func (m tagMap) lookup(tag string) ([]string, bool) {
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

type subResource struct {
	ID string `json:"id"`
}

// effectiveRouteList is the body of effectiveRouteTable.
type effectiveRouteList struct {
	Value *[]struct {
		Name                       string     `json:"name"`
		Source                     string     `json:"source"`
		State                      string     `json:"state"`
		DisableBgpRoutePropagation bool       `json:"disableBgpRoutePropagation"`
		HasBgpOverride             bool       `json:"hasBgpOverride"`
		AddressPrefix              stringList `json:"addressPrefix"`
		NextHopType                string     `json:"nextHopType"`
		NextHopIPAddress           stringList `json:"nextHopIpAddress"`
		DestinationServiceTags     stringList `json:"destinationServiceTags"`
		TagMap                     tagMap     `json:"tagMap"`
	} `json:"value"`
}

// effectiveNSGList is the body of effectiveNetworkSecurityGroups.
type effectiveNSGList struct {
	Value *[]struct {
		NetworkSecurityGroup *subResource `json:"networkSecurityGroup"`
		Association          struct {
			Subnet           *subResource `json:"subnet"`
			NetworkInterface *subResource `json:"networkInterface"`
			NetworkManager   *subResource `json:"networkManager"`
		} `json:"association"`
		EffectiveSecurityRules []effectiveRule `json:"effectiveSecurityRules"`
		TagMap                 tagMap          `json:"tagMap"`
	} `json:"value"`
}

type effectiveRule struct {
	Name string `json:"name"`
	ruleWire
	ExpandedSourceAddressPrefix      stringList `json:"expandedSourceAddressPrefix"`
	ExpandedDestinationAddressPrefix stringList `json:"expandedDestinationAddressPrefix"`
}

func (s *armSession) readEffectiveRoutes(ctx context.Context) {
	r := snapshot.NewRead(snapshot.ReadEffectiveRoutes, s.snap.ResourceGroup, s.snap.NICName, "", "")
	start := s.begin(r.Name)
	var body effectiveRouteList
	var out []routes.Route
	err := postLRO(ctx, s, s.nicPath("effectiveRouteTable"), &body)
	if err == nil {
		out, err = convertRoutes(body)
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.Routes = out
		}
	})
}

func convertRoutes(in effectiveRouteList) ([]routes.Route, error) {
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

func (s *armSession) readEffectiveNSGs(ctx context.Context) {
	r := snapshot.NewRead(snapshot.ReadEffectiveNSGs, s.snap.ResourceGroup, s.snap.NICName, "", "")
	start := s.begin(r.Name)
	var body effectiveNSGList
	var out []nsg.Group
	err := postLRO(ctx, s, s.nicPath("effectiveNetworkSecurityGroups"), &body)
	if err == nil {
		out, err = convertNSGs(body)
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.NSGs = out
		}
	})
}

func convertNSGs(in effectiveNSGList) ([]nsg.Group, error) {
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
			rule := er.rule(er.Name)
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
func expand(expanded []string, items []string, m tagMap) []netip.Prefix {
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
