package instanceview

import (
	"fmt"
	"sort"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// depsBudget keeps the pairs taken so far across the list's pages.
type depsBudget struct {
	seen  map[string]bool // host:port pairs kept
	hosts int             // entries kept
	cut   snapshot.DepsCut
}

func newDepsBudget() *depsBudget { return &depsBudget{seen: map[string]bool{}} }

// take returns the ports of host to keep, in order: new pairs only, at most
// snapshot.MaxDepPorts, while the list has room; the rest is counted as cut.
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
		case len(kept) < snapshot.MaxDepPorts && len(b.seen) < snapshot.MaxDepEndpoints:
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
