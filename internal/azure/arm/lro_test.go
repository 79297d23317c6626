package arm

import (
	"testing"
	"time"
)

// The schedule as the README states it.
func TestPollSchedule(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var got []time.Duration
	for at := time.Duration(0); len(got) < 52; {
		at = nextPoll(at)
		got = append(got, at)
	}
	want := []time.Duration{ms(50), ms(250)}
	for p := ms(500); p <= ms(3750); p += ms(250) {
		want = append(want, p)
	}
	for p := ms(4200); p <= ms(19700); p += ms(500) {
		want = append(want, p)
	}
	for p := ms(20700); len(want) < 52; p += time.Second {
		want = append(want, p)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("poll %d at %v, want %v (schedule %v)", i, got[i], want[i], got)
		}
	}
	// A completion at 15 s is seen by the 39th poll, at 15.2 s.
	n := 0
	for _, p := range got {
		n++
		if p >= 15*time.Second {
			break
		}
	}
	if n != 39 || got[n-1] != ms(15200) {
		t.Errorf("a completion at 15 s is seen by poll %d at %v, want 39 at 15.2 s", n, got[n-1])
	}
}
