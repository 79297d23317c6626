package instanceview

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The instance's own view (azure-facts §4, §11.7): Azure probes every
// dependency of a deployed instance from its own machines every 15 minutes
// and publishes what it saw (NetworkStatus), and it lists the host names
// and ports the instance depends on (OutboundNetworkDependenciesEndpoints),
// including the platform's storage accounts and SQL servers that the user
// never names. Both are read once the instance itself has been read, after
// deployment only.

// statusWire and depsWire are the recorded shapes (azure-facts §4.2).
type statusWire []struct {
	Location      string `json:"location"`
	NetworkStatus struct {
		DNSServers         []string `json:"dnsServers"`
		ConnectivityStatus []struct {
			Name             string   `json:"name"`
			Status           string   `json:"status"`
			Error            string   `json:"error"`
			LastUpdated      wireTime `json:"lastUpdated"`
			LastStatusChange wireTime `json:"lastStatusChange"`
			ResourceType     string   `json:"resourceType"`
			IsOptional       bool     `json:"isOptional"`
		} `json:"connectivityStatus"`
	} `json:"networkStatus"`
}

// wireTime is a NetworkStatus date. The service writes .NET DateTimes
// (azure-facts §12.8): besides RFC 3339 with a zone, a row may carry one
// without a zone ("2023-06-08T16:39:33.9426753", whose zone is the
// server's, unknown here), the zero date ("0001-01-01T00:00:00"), an empty
// string or null. None of these can be placed in time, so each is unknown
// (the zero Time), and never fails the read of every other row.
type wireTime struct{ time.Time }

func (w *wireTime) UnmarshalJSON(b []byte) error {
	w.Time = time.Time{}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil // a number, an object: not a date
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil || t.Year() <= 1 {
		return nil
	}
	w.Time = t
	return nil
}

type depsWire struct {
	Value []struct {
		Category  string `json:"category"`
		Endpoints []struct {
			DomainName      string `json:"domainName"`
			EndpointDetails []struct {
				Port   int    `json:"port"`
				Region string `json:"region"`
			} `json:"endpointDetails"`
		} `json:"endpoints"`
	} `json:"value"`
	NextLink string `json:"nextLink"`
}

// MaxRows bounds what one answer may add (a hostile or broken answer must
// not flood the report).
const MaxRows = 500

// ReadInstanceView reads NetworkStatus and the dependency list of the
// instance the apim read found, in parallel, each bounded by the reads'
// context like every other read.
func ReadInstanceView(ctx context.Context, s Session) {
	afterInstance(ctx, s,
		instanceRead{snapshot.ReadNetworkStatus, ReadNetworkStatus},
		instanceRead{snapshot.ReadDependencies, ReadDependencies})
}

// instanceRead is one read of the instance's own resource tree: its name
// and what reads it, given the instance's resource id and name.
type instanceRead struct {
	name string
	read func(ctx context.Context, s Session, id, apimName string)
}

// afterInstance runs reads that need the instance the apim read found, in
// parallel; without the instance, each is recorded as not made, saying why.
func afterInstance(ctx context.Context, s Session, reads ...instanceRead) {
	a, apimRead := s.Instance()
	if a == nil || a.ID == "" {
		why := "the instance's resource could not be read in time"
		if apimRead != nil && apimRead.Message != "" {
			why = "the instance's resource could not be read (" + apimRead.Message + ")"
		}
		for _, rd := range reads {
			r := snapshot.NewInstanceRead(rd.name, s.Service(), "")
			snapshot.NotMade(r, apimRead, why)
			s.Finish(r, nil)
		}
		return
	}
	var wg sync.WaitGroup
	for _, rd := range reads {
		wg.Go(func() { rd.read(ctx, s, a.ID, a.Name) })
	}
	wg.Wait()
}

// ReadNetworkStatus reads the instance's NetworkStatus into the snapshot.
func ReadNetworkStatus(ctx context.Context, s Session, id, name string) {
	r := snapshot.NewInstanceRead(snapshot.ReadNetworkStatus, name, id)
	start := s.Begin(r.Name)
	var wire statusWire
	err := s.GetJSON(ctx, id+"/networkstatus", snapshot.APIMAPIVersion, &wire)
	var locs []snapshot.LocationStatus
	if err == nil {
		locs = convertStatus(wire)
	}
	s.Settle(ctx, r, start, err)
	s.Finish(r, func(snap *snapshot.Snapshot) {
		if err == nil {
			snap.NetworkStatus = locs
		}
	})
}

// ReadDependencies reads the instance's dependency list into the snapshot.
func ReadDependencies(ctx context.Context, s Session, id, name string) {
	r := snapshot.NewInstanceRead(snapshot.ReadDependencies, name, id)
	start := s.Begin(r.Name)
	var deps []snapshot.Dependency
	path := id + "/outboundNetworkDependenciesEndpoints"
	var err error
	b := newDepsBudget()
	for page := 0; page < 10 && path != "" && err == nil; page++ {
		var wire depsWire
		if err = s.GetJSON(ctx, path, snapshot.APIMAPIVersion, &wire); err == nil {
			deps = append(deps, convertDeps(wire, b)...)
			path = wire.NextLink
		}
	}
	s.Settle(ctx, r, start, err)
	s.Finish(r, func(snap *snapshot.Snapshot) {
		if err == nil {
			snap.Dependencies, snap.DependenciesCut = deps, b.cut
		}
	})
}

func convertStatus(w statusWire) []snapshot.LocationStatus {
	var out []snapshot.LocationStatus
	n := 0
	for _, l := range w {
		ls := snapshot.LocationStatus{Location: bounded.Line(l.Location)}
		for _, d := range l.NetworkStatus.DNSServers {
			ls.DNSServers = append(ls.DNSServers, bounded.Line(d))
		}
		for _, c := range l.NetworkStatus.ConnectivityStatus {
			if n++; n > MaxRows {
				break
			}
			row := snapshot.StatusRow{Name: bounded.Line(c.Name), Status: strings.ToLower(bounded.Line(c.Status)), Error: bounded.Line(c.Error),
				ResourceType: bounded.Line(c.ResourceType), LastUpdated: c.LastUpdated.Time, LastStatusChange: c.LastStatusChange.Time, Optional: c.IsOptional}
			row.Host, row.Port = ParseStatusName(row.Name, row.ResourceType)
			ls.Rows = append(ls.Rows, row)
		}
		out = append(out, ls)
	}
	return out
}

func convertDeps(w depsWire, b *depsBudget) []snapshot.Dependency {
	var out []snapshot.Dependency
	for _, v := range w.Value {
		for _, e := range v.Endpoints {
			host := strings.ToLower(strings.TrimSuffix(bounded.Line(e.DomainName), "."))
			if !hostName(host) {
				continue
			}
			d := snapshot.Dependency{Category: bounded.Line(v.Category), Host: host}
			ports := map[int]bool{}
			for _, det := range e.EndpointDetails {
				if det.Port > 0 && det.Port < 65536 {
					ports[det.Port] = true
				}
				if d.Region == "" {
					d.Region = bounded.Line(det.Region)
				}
			}
			d.Ports = b.take(host, ports)
			if len(d.Ports) > 0 || (len(ports) == 0 && b.hosts < MaxRows) {
				b.hosts++
				out = append(out, d)
			}
		}
	}
	return out
}

// hostName accepts what can be dialled by name: letters, digits, hyphens
// and dots, with at least one dot (no wildcards, no logical names).
func hostName(h string) bool {
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, r := range h {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ParseStatusName turns a NetworkStatus name into the host and port it
// stands for: a URL ("https://login.windows.net", "https://x:1886/Recovery
// Service"), host:port/path ("x.prod.microsoftmetrics.com:1886/Recovery
// Service"), or a bare host, whose port comes from its resource type. A
// logical name (LocalGatewayRedis, Scm) gives "".
func ParseStatusName(name, resourceType string) (string, int) {
	s := strings.TrimSpace(name)
	port := 0
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return "", 0
		}
		if p, err := strconv.Atoi(u.Port()); err == nil {
			port = p
		} else {
			switch strings.ToLower(u.Scheme) {
			case "http":
				port = 80
			default:
				port = 443
			}
		}
		s = u.Hostname()
	} else {
		if i := strings.IndexAny(s, "/?"); i >= 0 {
			s = s[:i]
		}
		if h, p, err := net.SplitHostPort(s); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				s, port = h, n
			}
		}
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if !hostName(s) {
		return "", 0
	}
	if port == 0 {
		port = defaultPort(resourceType)
	}
	return s, port
}

// defaultPort is the port a bare host name of a resource type is probed
// on (the dependency list's ports: Azure Files over SMB, SQL's gateway).
func defaultPort(resourceType string) int {
	switch strings.ToLower(resourceType) {
	case "sqldatabase":
		return 1433
	case "filestorage":
		return 445
	case "metrics":
		return 1886
	case "email":
		return 25028
	}
	return 443
}
