package azurectx

import (
	"context"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
)

// The instance's backends (azure-facts §12.12): the URLs its backend
// entities name (GET …/service/{name}/backends, properties.url) and its
// APIs' service URLs (GET …/service/{name}/apis, properties.serviceUrl),
// both paged with nextLink. They are read once the instance itself has
// been read, after deployment only; run probes them from this VM.

// Read names of the instance's backends.
const (
	ReadBackends = "apim-backends"
	ReadAPIs     = "apim-apis"
)

// maxBackendURLs bounds what the two lists may add together.
const maxBackendURLs = 500

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

type backendsWire struct {
	Value []struct {
		Name       string `json:"name"`
		Properties struct {
			URL         string `json:"url"`
			ServiceURL  string `json:"serviceUrl"`
			DisplayName string `json:"displayName"`
			TLS         *struct {
				ValidateCertificateChain *bool `json:"validateCertificateChain"`
				ValidateCertificateName  *bool `json:"validateCertificateName"`
			} `json:"tls"`
		} `json:"properties"`
	} `json:"value"`
	NextLink string `json:"nextLink"`
}

// readBackends reads both lists of the instance the apim read found, in
// parallel. nextLinks go through getJSON like every other read's.
func (s *armSession) readBackends(ctx context.Context, in *imds.Instance) {
	list := func(name string) instanceRead {
		return instanceRead{name, func(ctx context.Context, id, apimName string) { s.readBackendList(ctx, name, id, apimName) }}
	}
	s.afterInstance(ctx, list(ReadBackends), list(ReadAPIs))
}

func (s *armSession) readBackendList(ctx context.Context, name, id, service string) {
	r := newInstanceRead(name, service, id)
	start := s.begin(r.Name)
	path, kind := id+"/backends", "backend"
	if name == ReadAPIs {
		path, kind = id+"/apis", "API"
	}
	var urls []BackendURL
	var err error
	for page := 0; page < 10 && path != "" && err == nil; page++ {
		var wire backendsWire
		if err = s.getJSON(ctx, path, apimAPIVersion, &wire); err == nil {
			for _, v := range wire.Value {
				raw := v.Properties.URL
				if name == ReadAPIs {
					raw = v.Properties.ServiceURL
				}
				raw = bounded.Line(raw)
				if raw == "" || len(urls) >= maxBackendURLs {
					continue
				}
				u := BackendURL{URL: raw, Source: kind + " " + nonEmpty(bounded.Line(v.Name), "(unnamed)")}
				if t := v.Properties.TLS; t != nil && name == ReadBackends {
					u.NoChainCheck = t.ValidateCertificateChain != nil && !*t.ValidateCertificateChain
					u.NoNameCheck = t.ValidateCertificateName != nil && !*t.ValidateCertificateName
				}
				urls = append(urls, u)
			}
			path = wire.NextLink
		}
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.BackendURLs = append(s.snap.BackendURLs, urls...)
			if len(s.snap.BackendURLs) > maxBackendURLs {
				s.snap.BackendURLs = s.snap.BackendURLs[:maxBackendURLs]
			}
		}
	})
}

// backendsView is the snapshot's part of the instance's backends: the
// backends' URLs before the APIs', so that a backend entity names a host
// first.
func (s *Snapshot) backendsView() *BackendsView {
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

// Backends blocks until both reads of the instance's backends have
// finished (or every read has), and returns them; nil when ctx ended first.
func (d *Discovery) Backends(ctx context.Context) *BackendsView {
	if !d.waitRead(ctx, ReadBackends) || !d.waitRead(ctx, ReadAPIs) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.backendsView()
}

// Backends implements BackendsSource for a finished snapshot.
func (s Static) Backends(ctx context.Context) *BackendsView {
	return s.Snapshot(ctx).backendsView()
}

var (
	_ BackendsSource = (*Discovery)(nil)
	_ BackendsSource = Static{}
)
