// Package lazyre is a regular expression compiled on its first use rather
// than when the program starts. Package-level regexp.MustCompile runs in
// every process, whatever it goes on to do: the patterns that read Resource
// Manager's error messages and the metadata service's fields (bounded
// repetitions such as {3,200} compile to long programs) were a sixth of
// `apimprobe version`'s CPU time and 600 KB of its heap, for runs that
// never meet a 403. A pattern that does not compile still panics, at its
// first use; TestPatterns-style tests of each package compile theirs.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a *regexp.Regexp compiled once, when first used. Safe for
// concurrent use, like the regexp it stands for.
type Regexp struct {
	re func() *regexp.Regexp
}

// New returns a pattern that regexp.MustCompile compiles on first use.
func New(expr string) *Regexp {
	return &Regexp{re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

func (r *Regexp) FindAllString(s string, n int) []string { return r.re().FindAllString(s, n) }

func (r *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return r.re().ReplaceAllStringFunc(src, repl)
}
