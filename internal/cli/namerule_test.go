package cli

import (
	"regexp"
	"testing"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

// The name rules accept exactly what the regular expressions they replaced
// accepted: every string of up to 66 characters over the alphabet that
// matters, at random, and the edges.
func TestNameRulesAreTheOldExpressions(t *testing.T) {
	rules := []struct {
		rule nameRule
		re   *regexp.Regexp
	}{
		{serviceRule, regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$`)},
		{storageRule, regexp.MustCompile(`^[a-z0-9]{3,24}$`)},
		{sqlRule, regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)},
		{vaultRule, regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9-]{1,22}[a-zA-Z0-9])$`)},
		{regionRule, regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{1,40}$`)},
		{eventHubRule, regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$`)},
	}
	inputs := []string{"", "a", "A", "0", "-", "a-", "-a", "a-b", "ab", "a0", "0a", "a--b", "contoso", "Contoso-01", "labsql", "lab_sql"}
	inputs = append(inputs, testtool.RandomStrings(200000, 67, "aZ0-9_.é")...)
	for _, x := range rules {
		for n := 0; n <= 66; n++ {
			long := make([]byte, n)
			for i := range long {
				long[i] = 'a'
			}
			inputs = append(inputs, string(long))
		}
		for _, s := range inputs {
			if got, want := x.rule.match(s), x.re.MatchString(s); got != want {
				t.Fatalf("%s: %q: rule says %v, expression %v", x.re, s, got, want)
			}
		}
	}
}
