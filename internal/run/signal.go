package run

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// Interrupt is the cause a signal gives the run's context: the run stops,
// reports what had finished with interrupted set, judges nothing, replaces
// no file, and the process exits 128+signal (SPEC: 130 for SIGINT, 143 for
// SIGTERM), as a shell would report a process the signal killed.
type Interrupt struct{ Signal syscall.Signal }

func (i *Interrupt) Error() string { return "interrupted by " + signalName(i.Signal) }

// ExitCode is 128 + the signal's number.
func (i *Interrupt) ExitCode() int { return 128 + int(i.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// OnSignals returns a context that SIGINT or SIGTERM cancels with an
// *Interrupt as its cause. After the first signal the default action comes
// back, so a second Ctrl-C ends a run that is slow to stop. stop releases
// the signals.
func OnSignals(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			sig, _ := s.(syscall.Signal)
			cancel(&Interrupt{Signal: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

// Interrupted reports whether ctx was ended by a signal.
func Interrupted(ctx context.Context) (*Interrupt, bool) {
	var i *Interrupt
	if errors.As(context.Cause(ctx), &i) {
		return i, true
	}
	return nil, false
}
