package run

import (
	"context"
	"fmt"
	"time"

	"github.com/apimprobe/apimprobe/internal/filelock"
)

// Lock takes the lock of the files the run writes (see filelock), waiting
// while another run holds it, within the run's one deadline: the wait
// spends cfg.Deadline, and the Config returned has what is left of it for
// Run. The error is the wait's: a *filelock.HeldError when the deadline
// ended it, ctx's cause when ctx did (a signal: see Interrupted), or a
// *LockWaitError when the lock came with nothing of the deadline left.
func Lock(ctx context.Context, cfg Config, files []string) (Config, func(), error) {
	return lockWithin(ctx, cfg, files, filelock.Acquire)
}

// LockWaitError says that the lock came, but only once the wait for it had
// spent the whole deadline.
type LockWaitError struct{ Deadline time.Duration }

func (e *LockWaitError) Error() string {
	return fmt.Sprintf("waiting for another apimprobe run's lock took the whole --deadline (%s): nothing was probed", e.Deadline)
}

// lockWithin is Lock with the lock taker as a parameter, for the tests.
func lockWithin(ctx context.Context, cfg Config, files []string, acquire func(context.Context, []string) (func(), error)) (Config, func(), error) {
	end := time.Now().Add(cfg.Deadline)
	lctx, cancel := context.WithDeadline(ctx, end)
	release, err := acquire(lctx, files)
	cancel()
	if err != nil {
		return cfg, nil, err
	}
	left := time.Until(end)
	if left <= 0 {
		release()
		return cfg, nil, &LockWaitError{Deadline: cfg.Deadline}
	}
	cfg.Deadline = left
	return cfg, release, nil
}
