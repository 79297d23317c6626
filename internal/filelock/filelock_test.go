//go:build unix

package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestSecondRunWaitsForTheFirst(t *testing.T) {
	dir := t.TempDir()
	prom := filepath.Join(dir, "apimprobe.prom")
	state := filepath.Join(dir, "apimprobe.state")

	release, err := Acquire(context.Background(), []string{prom, state})
	if err != nil {
		t.Fatal(err)
	}
	// The same files in the other order: the same locks, taken in the same
	// order.
	got := make(chan error, 1)
	var acquiredAt time.Time
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r2, err := Acquire(ctx, []string{state, prom})
		acquiredAt = time.Now()
		if err == nil {
			r2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second run got the lock while the first held it (%v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	released := time.Now()
	release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if lag := acquiredAt.Sub(released); lag > 100*time.Millisecond {
		t.Fatalf("the waiting run took %s to notice the release", lag)
	}
	if _, err := os.Stat(PathFor(prom)); err != nil {
		t.Fatalf("no lock file beside the report: %v", err)
	}
}

func TestWaitEndsWithTheDeadlineAndNamesTheHolder(t *testing.T) {
	prom := filepath.Join(t.TempDir(), "apimprobe.prom")
	release, err := Acquire(context.Background(), []string{prom})
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err = Acquire(ctx, []string{prom})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("got %v, want a HeldError", err)
	}
	if held.PID != strconv.Itoa(os.Getpid()) || held.Path != PathFor(prom) {
		t.Fatalf("%+v", held)
	}

	// A cancellation that is not the deadline (a signal) is returned as its
	// cause, not as a held lock.
	stop := errors.New("interrupted")
	cctx, ccancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { ccancel(stop) })
	if _, err := Acquire(cctx, []string{prom}); !errors.Is(err, stop) {
		t.Fatalf("got %v, want the cancellation's cause", err)
	}
}

// A wait that was given up on must not keep the lock once it gets it.
func TestAbandonedWaitDropsTheLock(t *testing.T) {
	prom := filepath.Join(t.TempDir(), "apimprobe.prom")
	release, err := Acquire(context.Background(), []string{prom})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, []string{prom}); err == nil {
		t.Fatal("got the lock while it was held")
	}
	release()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	r, err := Acquire(ctx2, []string{prom})
	if err != nil {
		t.Fatalf("the abandoned waiter kept the lock: %v", err)
	}
	r()
}
