package run

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apimprobe/apimprobe/internal/filelock"
)

// The wait for the lock spends the run's one deadline: Run gets what the
// wait left, to the nanosecond (the bubble's clock moves only when the
// wait sleeps).
func TestLockWaitSpendsTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lockDeadline time.Time
		acquire := func(ctx context.Context, files []string) (func(), error) {
			lockDeadline, _ = ctx.Deadline()
			time.Sleep(3 * time.Second) // another run holds the lock for 3s
			return func() {}, nil
		}
		start := time.Now()
		cfg, release, err := lockWithin(context.Background(), Config{Deadline: 10 * time.Second}, nil, acquire)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if !lockDeadline.Equal(start.Add(10 * time.Second)) {
			t.Errorf("the wait may last until %s after the start, want the whole deadline, 10s", lockDeadline.Sub(start))
		}
		if cfg.Deadline != 7*time.Second {
			t.Errorf("Run gets %s after a 3s wait of a 10s deadline, want 7s", cfg.Deadline)
		}
	})
}

// A lock that comes only once the deadline is spent probes nothing: the
// error says so, and the lock is let go at once.
func TestLockAfterTheWholeDeadlineProbesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		released := false
		acquire := func(ctx context.Context, files []string) (func(), error) {
			time.Sleep(2 * time.Second)
			return func() { released = true }, nil
		}
		_, release, err := lockWithin(context.Background(), Config{Deadline: 2 * time.Second}, nil, acquire)
		var lw *LockWaitError
		if !errors.As(err, &lw) || release != nil {
			t.Fatalf("got %v, want a LockWaitError and no lock", err)
		}
		if !released {
			t.Error("the lock taken too late was kept")
		}
	})
}

// A lock the test holds ends the wait at the deadline with a HeldError
// that names it; a signal during the wait ends it with the signal.
func TestLockHeldByAnotherRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.prom")
	hold, err := filelock.Acquire(context.Background(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	defer hold()

	_, release, err := Lock(context.Background(), Config{Deadline: 20 * time.Millisecond}, []string{file})
	var held *filelock.HeldError
	if !errors.As(err, &held) || release != nil || held.Path != filelock.PathFor(file) {
		t.Fatalf("got %v, want a HeldError for %s", err, filelock.PathFor(file))
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&Interrupt{Signal: syscall.SIGTERM})
	_, release, err = Lock(ctx, Config{Deadline: time.Hour}, []string{file})
	if intr, ok := Interrupted(ctx); !ok || release != nil || !errors.Is(err, intr) {
		t.Fatalf("got %v, want the interrupt", err)
	}
}
