// Package instanceview reads what an API Management instance reports of
// itself (azure-facts §4, §5, §12.12): its NetworkStatus and dependency
// list, its backends' and APIs' URLs, and its ConnectivityCheck, the probe
// it runs from its own machines. It reads over discover's Resource Manager
// session and records into discover's snapshot through Session.
package instanceview

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// Session is the Resource Manager session the reads go through, with the
// bookkeeping of the snapshot they record into (discover's).
type Session interface {
	// GetJSON reads path at apiVersion into v (arm.Session's).
	GetJSON(ctx context.Context, path, apiVersion string, v any) error
	// Endpoint and Pipeline are Resource Manager's (arm.Session's).
	Endpoint() string
	Pipeline() runtime.Pipeline
	// Close ends the session's idle connections.
	Close()
	// Begin marks a read as in flight, for the progress line.
	Begin(name string) time.Time
	// Settle classifies a read's error into its status; nil means ok.
	Settle(ctx context.Context, r *snapshot.Read, started time.Time, err error)
	// Finish records a read and, under the same lock, what store puts
	// in the snapshot (store may be nil).
	Finish(r *snapshot.Read, store func(*snapshot.Snapshot))
	// Instance is the instance the apim read found, and that read.
	Instance() (*snapshot.APIMInfo, *snapshot.Read)
	// Service is the instance's name as configured.
	Service() string
}
