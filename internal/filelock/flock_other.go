//go:build !unix

package filelock

import "context"

// Acquire does nothing where flock(2) does not exist: apimprobe's home is
// Linux, and elsewhere overlapping runs are the operator's to avoid.
func Acquire(ctx context.Context, files []string) (release func(), err error) {
	return func() {}, nil
}
