package testtool

import "math/rand/v2"

// RandomStrings is n strings of up to maxLen-1 bytes drawn from alphabet,
// the same on every call (a fixed seed), for comparing two implementations
// of one rule on inputs nobody wrote by hand.
func RandomStrings(n, maxLen int, alphabet string) []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, 0, n)
	for range n {
		b := make([]byte, r.IntN(maxLen))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		out = append(out, string(b))
	}
	return out
}
