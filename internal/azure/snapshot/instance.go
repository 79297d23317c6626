package snapshot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// Read names of the instance's own view.
const (
	ReadNetworkStatus = "apim-networkstatus"
	ReadDependencies  = "apim-dependencies"
)

// StaleAfter is how old a NetworkStatus row may be. Each row is refreshed
// about every 15 minutes, rows at staggered times (azure-facts §12.8): a row
// read just before its next refresh is up to 15 minutes old plus scheduling
// lag. Only a row older than two refreshes has missed one, which means the
// instance has lost the connectivity to report it.
const StaleAfter = 30 * time.Minute

// RefreshEvery is how often Azure refreshes each NetworkStatus row.
const RefreshEvery = 15 * time.Minute

// LocationStatus is NetworkStatus for one location of the instance.
type LocationStatus struct {
	Location   string
	DNSServers []string
	Rows       []StatusRow
}

// StatusRow is one connectivityStatus entry, with the host and port its
// name stands for.
type StatusRow struct {
	// Name is as the API wrote it: a host, a URL or host:port/path, or a
	// logical name (LocalGatewayRedis, Scm) that no probe can match.
	Name   string
	Status string // initializing, success, failure
	Error  string
	// ResourceType is the API's word (BlobStorage, SQLDatabase, …).
	ResourceType string
	// LastUpdated and LastStatusChange are zero when unknown: the answer
	// gave no date, the zero date, or one without a zone (§12.8).
	LastUpdated      time.Time
	LastStatusChange time.Time
	Optional         bool
	// Host and Port are what Name stands for; Host is "" for a logical name.
	Host string
	Port int
}

// Stale reports whether the row was last updated more than StaleAfter
// before now.
func (r StatusRow) Stale(now time.Time) bool {
	return !r.LastUpdated.IsZero() && now.Sub(r.LastUpdated) > StaleAfter
}

// Dependency is one host of the instance's outbound dependency list.
type Dependency struct {
	Category string
	Host     string
	Ports    []int
	Region   string
}

// InstanceView is the instance's own view: NetworkStatus per location and
// its outbound dependency list. Reads says how each read went.
type InstanceView struct {
	Locations    []LocationStatus
	Dependencies []Dependency

	// DepsCut says what of the dependency list was left out.
	DepsCut      DepsCut
	Status, Deps *Read
	// Endpoint is Resource Manager's host and port in words, for a read
	// that got no answer.
	Endpoint string
}

// Matches reports whether a row stands for the dependency a check probes:
// the same host and port, and the same resource type when both name one.
// A check without a host matches a row of its resource type that names no
// port it could have probed (route.management-return and the control
// plane's inbound row).
func (r StatusRow) Matches(host string, port int, resourceType string) bool {
	if r.Host == "" {
		return false
	}
	if resourceType != "" && r.ResourceType != "" && !strings.EqualFold(resourceType, r.ResourceType) {
		return false
	}
	if host == "" {
		return resourceType != "" && strings.EqualFold(resourceType, r.ResourceType)
	}
	return strings.EqualFold(strings.TrimSuffix(host, "."), r.Host) && port == r.Port
}

// StatusFor returns what the instance reports for a dependency, one entry
// per location whose NetworkStatus has a matching row.
func StatusFor(locs []LocationStatus, host string, port int, resourceType string) []probes.InstanceStatus {
	var out []probes.InstanceStatus
	for _, l := range locs {
		for _, row := range l.Rows {
			if row.Matches(host, port, resourceType) {
				out = append(out, row.Seen(l.Location))
				break
			}
		}
	}
	return out
}

// Seen is the row in probes' typed form, for a check's evidence.
func (r StatusRow) Seen(location string) probes.InstanceStatus {
	return probes.InstanceStatus{Location: location, Name: r.Name, ResourceType: r.ResourceType, Status: r.Status, Error: r.Error,
		LastUpdated: r.LastUpdated, LastStatusChange: r.LastStatusChange, Optional: r.Optional}
}

// instanceView is the snapshot's part of the instance's own view.
func (s *Snapshot) InstanceView() *InstanceView {
	return &InstanceView{Locations: s.NetworkStatus, Dependencies: s.Dependencies, DepsCut: s.DependenciesCut,
		Status: s.Reads[ReadNetworkStatus], Deps: s.Reads[ReadDependencies], Endpoint: s.Endpoint}
}

// InstanceView implements InstanceViewSource for a finished snapshot.
func (s Static) InstanceView(ctx context.Context) *InstanceView {
	return s.Snapshot(ctx).InstanceView()
}

// InstanceViewSource yields the instance's own view, waiting for its reads.
type InstanceViewSource interface {
	InstanceView(ctx context.Context) *InstanceView
}

// The instance's dependency list is probed from this VM, one connection
// per host and port. A list that names 500 hosts with 100 ports each made
// 43,099 connections, and 200 × 2,000 ran past --deadline at 1.87 GB: the
// list is cut to what a real instance names (a few ports per host, some
// tens of hosts) with a wide margin, and the check says what was cut.
const (
	// MaxDepPorts bounds the ports probed per host (real lists: 1 to 3).
	MaxDepPorts = 16
	// MaxDepEndpoints bounds the host:port pairs probed in all (real
	// lists: 20 to 60).
	MaxDepEndpoints = 512
)

// DepsCut is what of the instance's dependency list was left out.
type DepsCut struct {
	// Pairs is how many host:port pairs were not kept, on Hosts hosts.
	Pairs, Hosts int
}

// Words says what was cut, for a message; "" when nothing was.
func (c DepsCut) Words() string {
	if c.Pairs == 0 {
		return ""
	}
	return fmt.Sprintf("%d host:port pairs on %d hosts in the list were not probed (at most %d ports per host and %d pairs in all)",
		c.Pairs, c.Hosts, MaxDepPorts, MaxDepEndpoints)
}

// Read names of the instance's backends.
const (
	ReadBackends = "apim-backends"
	ReadAPIs     = "apim-apis"
)

// BackendURL is one URL the instance forwards to, as Resource Manager
// shows it (bounded and cleaned), with what names it: "backend NAME" or
// "API NAME".
type BackendURL struct {
	URL, Source string
	// NoChainCheck and NoNameCheck: the backend entity turns the
	// gateway's certificate checks off (properties.tls
	// validateCertificateChain, validateCertificateName false).
	NoChainCheck, NoNameCheck bool
}

// BackendsView is what the two reads found, and how each went.
type BackendsView struct {
	URLs           []BackendURL
	Backends, APIs *Read
	// Endpoint is Resource Manager's host and port in words, for a read
	// that got no answer.
	Endpoint string
}

// backendsView is the snapshot's part of the instance's backends: the
// backends' URLs before the APIs', so that a backend entity names a host
// first.
func (s *Snapshot) BackendsView() *BackendsView {
	v := &BackendsView{Backends: s.Reads[ReadBackends], APIs: s.Reads[ReadAPIs], Endpoint: s.Endpoint}
	for _, u := range s.BackendURLs {
		if strings.HasPrefix(u.Source, "backend ") {
			v.URLs = append(v.URLs, u)
		}
	}
	for _, u := range s.BackendURLs {
		if !strings.HasPrefix(u.Source, "backend ") {
			v.URLs = append(v.URLs, u)
		}
	}
	return v
}

// BackendsSource yields the instance's backends, waiting for their reads.
type BackendsSource interface {
	Backends(ctx context.Context) *BackendsView
}

// Backends implements BackendsSource for a finished snapshot.
func (s Static) Backends(ctx context.Context) *BackendsView {
	return s.Snapshot(ctx).BackendsView()
}
