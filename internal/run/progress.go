package run

import (
	"fmt"
	"io"
	"strings"
	"time"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
)

// progressEvery is how often the waiting line is refreshed, and
// progressAfter how long a read must have run before it is worth a line.
const (
	progressEvery = time.Second
	progressAfter = 2 * time.Second
)

// showProgress says on w (standard error, on a terminal only: the CLI
// decides) which Resource Manager reads the run is waiting for, rewriting
// one line: "waiting for Resource Manager: effective routes, 4 s". It never
// reaches a report. stop clears the line and returns once nothing more
// will be written.
func showProgress(w io.Writer, pending func() []azdiscover.PendingRead, every, after time.Duration) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-quit:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
			}
			line := progressLine(pending(), after)
			switch {
			case line != "":
				fmt.Fprint(w, "\r\033[K"+line)
				shown = true
			case shown:
				fmt.Fprint(w, "\r\033[K")
				shown = false
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// progressLine names the reads that have run for at least after, and for
// how long the oldest has; "" when there are none.
func progressLine(ps []azdiscover.PendingRead, after time.Duration) string {
	var names []string
	var longest time.Duration
	for _, p := range ps {
		if p.For < after {
			continue
		}
		names = append(names, p.Title)
		longest = max(longest, p.For)
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("waiting for Resource Manager: %s, %d s", strings.Join(names, ", "), int(longest.Seconds()))
}
