//go:build unix

package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Acquire locks every file's lock file, waiting while another run holds
// one, until ctx ends. release unlocks them all. The error is a *HeldError
// when the wait ran out, or ctx's error when it was cancelled otherwise.
func Acquire(ctx context.Context, files []string) (release func(), err error) {
	paths, err := lockPaths(files)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var held []*os.File
	release = func() {
		for _, f := range held {
			f.Close() // closing the descriptor drops the flock
		}
	}
	for _, p := range paths {
		f, err := lockOne(ctx, p, start)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, f)
	}
	return release, nil
}

func lockOne(ctx context.Context, path string, start time.Time) (*os.File, error) {
	// Group-writable, so that runs as different users of one group (a
	// systemd DynamicUser with SupplementaryGroups) share it; the umask
	// decides in the end. flock(2) needs no write access, so a lock file
	// another user created is opened read-only if need be.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o664)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot take the lock beside a file this run writes: %w", err)
	}
	fd := int(f.Fd())
	err = flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		err = wait(ctx, f, path, start)
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Say who holds it, for the next run's message; best effort.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// wait blocks in flock(2) on a goroutine of its own, so that the wait ends
// the moment the holder lets go, with no polling, or when ctx does. A wait
// given up on is left to finish in the background: it closes the file (and
// so drops the lock) as soon as it gets it.
func wait(ctx context.Context, f *os.File, path string, start time.Time) error {
	got := make(chan error, 1)
	go func() { got <- flock(int(f.Fd()), unix.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return context.Cause(ctx)
		}
		pid, _ := os.ReadFile(path)
		return &HeldError{Path: path, PID: trimPID(pid), Waited: time.Since(start)}
	}
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
