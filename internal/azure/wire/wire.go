// Package wire holds how Resource Manager writes the values that the
// reads (discover), the judges (judge) and the NSG evaluation (nsg) parse: an address prefix as a
// CIDR or a bare address, and names that compare without letter case. It
// imports nothing of the module, so the judges may use it.
package wire

import (
	"net/netip"
	"strings"
)

// ContainsFold reports whether ss holds s, in any letter case.
func ContainsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ParsePrefix takes a CIDR or a bare address (a host prefix).
func ParsePrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}
