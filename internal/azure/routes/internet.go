package routes

import (
	"net/netip"
	"sort"
	"strings"
)

// notInternet is IPv4 space that never leaves for the Internet: this
// network, RFC 1918, shared address space, loopback, link local, multicast
// and reserved. What remains is the Internet-bound space forced tunnelling
// is about.
var notInternet = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// Carrier is one route carrying part of the Internet-bound IPv4 space.
type Carrier struct {
	Prefix netip.Prefix // the route's prefix
	Route  *Route       // nil: no route carries it
	Addrs  uint64       // Internet-bound addresses it carries
}

// InternetBound splits the Internet-bound IPv4 space over the table's
// routes: which route carries how many of its addresses. A default route
// may come whole (0.0.0.0/0) or in pieces (0.0.0.0/1 + 128.0.0.0/1, as some
// appliances and VPNs advertise it); both carry the same space. Carriers are
// sorted by addresses carried, largest first; total is the size of the
// space.
func (t *Table) InternetBound() (carriers []Carrier, total uint64) {
	var v4 []netip.Prefix
	for _, e := range t.entries {
		if e.prefix.Addr().Is4() {
			v4 = append(v4, e.prefix)
		}
	}
	type key struct {
		r *Route
		p netip.Prefix
	}
	sum := map[key]uint64{}
	// walk is handed the prefixes strictly inside p, so each level scans
	// only its own part of the table.
	var walk func(p netip.Prefix, inside []netip.Prefix)
	walk = func(p netip.Prefix, inside []netip.Prefix) {
		for _, x := range notInternet {
			if x.Bits() <= p.Bits() && x.Contains(p.Addr()) {
				return
			}
		}
		if p.Bits() < 32 && len(inside) > 0 {
			lo, hi := halves(p)
			walk(lo, within(inside, lo))
			walk(hi, within(inside, hi))
			return
		}
		n := uint64(1) << (32 - p.Bits())
		total += n
		r, rp, _ := t.covering(p)
		sum[key{r, rp}] += n
	}
	all := netip.MustParsePrefix("0.0.0.0/0")
	walk(all, within(append(v4, notInternet...), all))
	for k, n := range sum {
		carriers = append(carriers, Carrier{Prefix: k.p, Route: k.r, Addrs: n})
	}
	sort.Slice(carriers, func(i, j int) bool {
		if carriers[i].Addrs != carriers[j].Addrs {
			return carriers[i].Addrs > carriers[j].Addrs
		}
		return carriers[i].Prefix.String() < carriers[j].Prefix.String()
	})
	return carriers, total
}

// within returns the prefixes of ps that lie inside p and are longer.
func within(ps []netip.Prefix, p netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, q := range ps {
		if q.Bits() > p.Bits() && p.Contains(q.Addr()) {
			out = append(out, q)
		}
	}
	return out
}

// halves splits an IPv4 prefix into its two halves.
func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	b := p.Bits() + 1
	a := p.Masked().Addr().As4()
	lo := netip.PrefixFrom(netip.AddrFrom4(a), b)
	u := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	u |= 1 << (32 - b)
	hi := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}), b)
	return lo, hi
}

// egressClass sorts a carrier into how Internet-bound traffic fares on it.
type egressClass int

const (
	classDirect    egressClass = iota // next hop Internet, or a service endpoint (Azure's backbone)
	classTunnelled                    // an appliance, a gateway, any hop we do not know
	classDropped                      // next hop None, or no route
	classPrivate                      // the VNet, peerings, private endpoints: not Internet-bound in fact
)

func classify(r *Route) egressClass {
	switch {
	case r == nil || r.Is(HopNone):
		return classDropped
	case r.Is(HopInternet), r.Is(HopServiceEndpoint):
		return classDirect
	case r.Is(HopVnetLocal), r.Is(HopPeering), r.Is(HopGlobalPeering), r.Is(HopInterfaceEndpoint), r.Is(HopConnectedGroup):
		return classPrivate
	}
	return classTunnelled
}

func describeCarriers(cs []Carrier, max int) string {
	var s []string
	for i, c := range cs {
		if i == max {
			s = append(s, "…")
			break
		}
		s = append(s, c.Route.Describe(c.Prefix))
	}
	return strings.Join(s, "; ")
}
