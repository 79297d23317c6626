package lazyre

import (
	"sync"
	"testing"
)

func TestLazyMatchesRegexp(t *testing.T) {
	r := New(`^a([0-9]{1,3})b$`)
	if !r.MatchString("a12b") || r.MatchString("a1234b") {
		t.Fatal("MatchString differs from regexp")
	}
	if m := r.FindStringSubmatch("a7b"); len(m) != 2 || m[1] != "7" {
		t.Fatalf("FindStringSubmatch = %q", m)
	}
	w := New(`[0-9]+`)
	if got := w.FindAllString("1 22 333", -1); len(got) != 3 || got[2] != "333" {
		t.Fatalf("FindAllString = %q", got)
	}
	if got := w.ReplaceAllStringFunc("a1b22", func(string) string { return "#" }); got != "a#b#" {
		t.Fatalf("ReplaceAllStringFunc = %q", got)
	}
}

// Used from many goroutines at once, it compiles once and answers alike.
func TestLazyConcurrent(t *testing.T) {
	r := New(`^x+$`)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if !r.MatchString("xxx") {
				t.Error("no match")
			}
		})
	}
	wg.Wait()
}

// A pattern that does not compile panics at its first use, as
// regexp.MustCompile would have at start-up.
func TestLazyBadPatternPanicsOnUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	r.MatchString("x")
}

// Nothing is compiled until the pattern is used.
func TestLazyNotCompiledAtNew(t *testing.T) {
	if n := testing.AllocsPerRun(10, func() { New(`does not have (?:permission) '([A-Za-z0-9./*_-]{3,200})'`) }); n > 10 {
		t.Fatalf("New allocated %v times: compiled eagerly?", n)
	}
}
