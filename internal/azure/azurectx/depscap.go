package azurectx

import (
	"fmt"
	"sort"
)

// The instance's dependency list is probed from this VM, one connection
// per host and port. A list that names 500 hosts with 100 ports each made
// 43,099 connections, and 200 × 2,000 ran past --deadline at 1.87 GB: the
// list is cut to what a real instance names (a few ports per host, some
// tens of hosts) with a wide margin, and the check says what was cut.
const (
	// maxDepPorts bounds the ports probed per host (real lists: 1 to 3).
	maxDepPorts = 16
	// maxDepEndpoints bounds the host:port pairs probed in all (real
	// lists: 20 to 60).
	maxDepEndpoints = 512
)

// DepsCut is what of the instance's dependency list was left out.
type DepsCut struct {
	// Pairs is how many host:port pairs were not kept, on Hosts hosts.
	Pairs, Hosts int
}

// Words says what was cut, for a message; "" when nothing was.
func (c DepsCut) Words() string {
	if c.Pairs == 0 {
		return ""
	}
	return fmt.Sprintf("%d host:port pairs on %d hosts in the list were not probed (at most %d ports per host and %d pairs in all)",
		c.Pairs, c.Hosts, maxDepPorts, maxDepEndpoints)
}

// depsBudget keeps the pairs taken so far across the list's pages.
type depsBudget struct {
	seen  map[string]bool // host:port pairs kept
	hosts int             // entries kept
	cut   DepsCut
}

func newDepsBudget() *depsBudget { return &depsBudget{seen: map[string]bool{}} }

// take returns the ports of host to keep, in order: new pairs only, at most
// maxDepPorts, while the list has room; the rest is counted as cut.
func (b *depsBudget) take(host string, ports map[int]bool) []int {
	all := make([]int, 0, len(ports))
	for p := range ports {
		all = append(all, p)
	}
	sort.Ints(all)
	var kept []int
	cut := 0
	for _, p := range all {
		k := fmt.Sprintf("%s:%d", host, p)
		switch {
		case b.seen[k]:
		case len(kept) < maxDepPorts && len(b.seen) < maxDepEndpoints:
			b.seen[k] = true
			kept = append(kept, p)
		default:
			cut++
		}
	}
	if cut > 0 {
		b.cut.Pairs += cut
		b.cut.Hosts++
	}
	return kept
}
