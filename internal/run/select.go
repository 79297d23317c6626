package run

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/probes"
)

// noChecks says why --only and --skip left nothing to run, naming the ids
// closest to what was asked for: a run with no checks is not "ready".
func noChecks(all []probes.Check, only, skip []string) error {
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.ID
	}
	if len(only) > 0 && len(catalog.Select(all, only, nil)) == 0 {
		return fmt.Errorf("--only %s selects no check; the closest ids: %s",
			quoteAll(only), strings.Join(closest(ids, only, 3), ", "))
	}
	return fmt.Errorf("--skip %s leaves no check to run", quoteAll(skip))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// closest ranks ids by their edit distance to the nearest pattern (the
// glob's own characters count as letters), ties in id order.
func closest(ids, patterns []string, n int) []string {
	dist := func(id string) int {
		best := -1
		for _, p := range patterns {
			if d := editDistance(p, id); best < 0 || d < best {
				best = d
			}
		}
		return best
	}
	ranked := slices.Clone(ids)
	slices.SortStableFunc(ranked, func(a, b string) int { return dist(a) - dist(b) })
	return ranked[:min(n, len(ranked))]
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
