package judge

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
	"github.com/apimprobe/apimprobe/probes"
)

// The configured view reads NSG rules as written ("VirtualNetwork",
// "Storage", "AzureCloud"); the effective view lists what Azure expanded
// them to. To judge by prefixes, not names, the configured view expands
// them itself: service tags from the service tag list, and the
// VirtualNetwork tag as Azure means it (azure-facts §12.2): the virtual
// network's space, every connected peering's remote space, on-premises and
// gateway prefixes, the prefixes of the subnet's user routes, and
// 168.63.129.16. What a plain GET cannot show (what a gateway learns over
// BGP) is the tag's unknown part: a verdict that depends on it is not
// observable.

// vnetTag is the VirtualNetwork tag as far as the configured view knows.
type vnetTag struct {
	known []netip.Prefix
	// unknown names what may add prefixes the view cannot read.
	unknown []string
}

func vnetTagOf(s *snapshot.Snapshot) vnetTag {
	var t vnetTag
	add := func(ps ...netip.Prefix) {
		for _, p := range ps {
			if p.Addr().Is4() && !slices.Contains(t.known, p) {
				t.known = append(t.known, p)
			}
		}
	}
	c := s.Configured
	if c == nil {
		return t
	}
	add(c.VNetPrefixes...)
	add(netip.PrefixFrom(azureDNS, 32))
	for _, p := range c.Peerings {
		switch {
		case !p.Connected():
		case len(p.Remote) == 0:
			t.unknown = append(t.unknown, "peering "+p.Name+" shows no remote address space")
		default:
			add(p.Remote...)
		}
		if p.Connected() && p.UseRemoteGateways {
			t.unknown = append(t.unknown, "the prefixes the remote network's gateway learns (peering "+p.Name+" uses it)")
		}
	}
	for _, g := range c.Gateways {
		t.unknown = append(t.unknown, "the prefixes "+g+" learns")
	}
	for _, u := range c.UDRs {
		add(u.Prefixes...)
		for _, tag := range u.ServiceTags {
			add(s.ServiceTags.Prefixes(tag)...)
		}
	}
	// This VM's effective routes show what the gateways learnt: the
	// unknown part is known (bgpOf weighs when they speak for the subnet).
	if b := bgpOf(s, nil); b.seen && len(t.unknown) > 0 {
		for _, r := range b.learnt {
			add(r.Prefixes...)
		}
		t.unknown = nil
	}
	return t
}

// internetSpace is the public IPv4 space a rule on Internet covers: all of
// it but this network, RFC 1918, shared address space, loopback, link
// local, multicast and reserved (the effective view lists the same, less
// a few Microsoft-reserved ranges).
var internetSpace = func() []netip.Prefix {
	var out []netip.Prefix
	var walk func(p netip.Prefix)
	notInternet := []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("224.0.0.0/3"),
	}
	walk = func(p netip.Prefix) {
		for _, x := range notInternet {
			if x.Bits() <= p.Bits() && x.Contains(p.Addr()) {
				return
			}
		}
		overlaps := false
		for _, x := range notInternet {
			if p.Overlaps(x) {
				overlaps = true
			}
		}
		if !overlaps {
			out = append(out, p)
			return
		}
		lo, hi := splitPrefix(p)
		walk(lo)
		walk(hi)
	}
	walk(netip.MustParsePrefix("0.0.0.0/0"))
	return out
}()

// splitPrefix halves an IPv4 prefix.
func splitPrefix(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	b := p.Bits() + 1
	a := p.Masked().Addr().As4()
	lo := netip.PrefixFrom(netip.AddrFrom4(a), b)
	u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	u |= 1 << (32 - b)
	return lo, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}), b)
}

// without is ps less the addresses in cut, as prefixes.
func without(ps []netip.Prefix, cut []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	var walk func(p netip.Prefix)
	walk = func(p netip.Prefix) {
		hit := false
		for _, c := range cut {
			if c.Bits() <= p.Bits() && c.Contains(p.Addr()) {
				return
			}
			if p.Overlaps(c) {
				hit = true
			}
		}
		if !hit || p.Bits() == 32 {
			out = append(out, p)
			return
		}
		lo, hi := splitPrefix(p)
		walk(lo)
		walk(hi)
	}
	for _, p := range ps {
		if p.Addr().Is4() {
			walk(p)
		} else {
			out = append(out, p)
		}
	}
	return out
}

// expandGroup gives an NSG read with a plain GET the prefixes the
// effective view would list for its rules' tags; every is the
// VirtualNetwork tag to use (its known part, or that and everything).
func expandGroup(s *snapshot.Snapshot, g nsg.Group, vnet []netip.Prefix) nsg.Group {
	out := g
	out.Rules = make([]nsg.Rule, len(g.Rules))
	for i, r := range g.Rules {
		r.ExpandedSources = expandItems(s, r.Sources, vnet)
		r.ExpandedDestinations = expandItems(s, r.Destinations, vnet)
		out.Rules[i] = r
	}
	return out
}

func expandItems(s *snapshot.Snapshot, items []string, vnet []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, it := range items {
		it = strings.TrimSpace(it)
		if _, ok := wire.ParsePrefix(it); ok || it == "*" || strings.EqualFold(it, "any") {
			continue // the evaluator reads these itself
		}
		switch {
		case strings.EqualFold(it, "VirtualNetwork"):
			out = append(out, vnet...)
		case strings.EqualFold(it, "Internet"):
			out = append(out, internetSpace...)
		case strings.EqualFold(it, "AzureLoadBalancer"):
			out = append(out, netip.PrefixFrom(azureDNS, 32))
		default:
			out = append(out, ipv4Only(s.ServiceTags.Prefixes(it))...)
		}
	}
	return out
}

// configuredGroups are the judged subnet's NSG expanded twice: with the
// VirtualNetwork tag's known part, and — when part of it cannot be read —
// with everything besides (nil otherwise). A verdict the two disagree on
// depends on what the view cannot see.
func configuredGroups(s *snapshot.Snapshot, g *nsg.Group) (lower, upper []nsg.Group, t vnetTag) {
	t = vnetTagOf(s)
	if g == nil {
		return nil, nil, t
	}
	lower = []nsg.Group{expandGroup(s, *g, t.known)}
	if len(t.unknown) > 0 {
		upper = []nsg.Group{expandGroup(s, *g, append(slices.Clone(t.known), netip.MustParsePrefix("0.0.0.0/0")))}
	}
	return lower, upper, t
}

// othersAddresses are addresses in the judged subnet that something else
// than the instance holds: this VM's, when it is in that subnet. A deny
// aimed at them does not touch the instance.
func othersAddresses(s *snapshot.Snapshot) []netip.Prefix {
	if s.JudgesOtherSubnet() {
		return nil
	}
	a, err := netip.ParseAddr(s.NICPrivateIP)
	if err != nil || !a.Is4() {
		return nil
	}
	return []netip.Prefix{netip.PrefixFrom(a, 32)}
}

// instanceEndpoint is where inbound traffic for the instance goes: the
// subnet, less what other resources in it hold.
func instanceEndpoint(s *snapshot.Snapshot) nsg.Endpoint {
	ep := subnetEndpoint(s)
	if cut := othersAddresses(s); len(cut) > 0 && len(ep.Prefixes) > 0 {
		ep.Prefixes = without(ep.Prefixes, cut)
	}
	return ep
}

// undecided is the skip for a flow whose verdict depends on the part of the
// VirtualNetwork tag the configured view cannot read.
func undecided(s *snapshot.Snapshot, lo, hi probes.Result, t vnetTag, lookFor string) probes.Result {
	cli, perm := "az network nic list-effective-nsg -g RG -n NIC", "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"
	if r := s.Read(snapshot.ReadEffectiveNSGs); r != nil {
		cli, perm = r.CLI, r.Permission
	}
	res := probes.Skipf(probes.ReasonNotObservable,
		"the verdict depends on the part of the VirtualNetwork tag the configured view cannot read ("+strings.Join(t.unknown, "; ")+
			"): with what it can read, "+lo.Message+"; were that part to cover the flow, it would "+statusWord(hi.Status),
		"Run `"+cli+"` (the effective NSGs list the tag's whole expansion; it needs "+perm+") and check "+lookFor+".")
	res.Evidence = lo.Evidence
	if res.Evidence == nil {
		res.Evidence = map[string]any{}
	}
	res.Evidence["virtual_network_unreadable"] = t.unknown
	res.Evidence["configured_status"] = string(lo.Status)
	return res
}

func statusWord(st probes.Status) string {
	switch st {
	case probes.Pass:
		return "be allowed"
	case probes.Fail, probes.Warn:
		return "be denied"
	}
	return "not be decided"
}
