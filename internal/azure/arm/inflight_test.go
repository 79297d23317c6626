package arm

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// heldTransport holds every request until release is closed, counting
// those in it.
type heldTransport struct {
	in, most atomic.Int32
	release  chan struct{}
}

func (h *heldTransport) Do(req *http.Request) (*http.Response, error) {
	n := h.in.Add(1)
	for {
		m := h.most.Load()
		if n <= m || h.most.CompareAndSwap(m, n) {
			break
		}
	}
	defer h.in.Add(-1)
	select {
	case <-h.release:
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

func TestLimitInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &heldTransport{release: make(chan struct{})}
		co := &azarm.ClientOptions{}
		co.Transport = h
		LimitInFlight(co)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var cut atomic.Int32
		// Twice the bound at once: half of them wait.
		for range 2 * MaxInFlight {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://management.azure.com/x", nil)
				co.Transport.Do(req)
			})
		}
		synctest.Wait()
		// And one whose context ends while it waits for a slot.
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://management.azure.com/y", nil)
			if _, err := co.Transport.Do(req); errors.Is(err, context.Canceled) {
				cut.Add(1)
			}
		})
		synctest.Wait()
		if n := h.in.Load(); n != MaxInFlight {
			t.Fatalf("%d requests in flight, want %d", n, MaxInFlight)
		}
		cancel()
		synctest.Wait()
		if cut.Load() != 1 {
			t.Error("a request waiting for a slot did not end with its context")
		}
		close(h.release)
		wg.Wait()
		if m := h.most.Load(); m != MaxInFlight {
			t.Errorf("at most %d in flight, want %d", m, MaxInFlight)
		}
	})
}
