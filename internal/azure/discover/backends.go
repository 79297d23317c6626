package discover

import (
	"cmp"
	"context"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The instance's backends (azure-facts §12.12): the URLs its backend
// entities name (GET …/service/{name}/backends, properties.url) and its
// APIs' service URLs (GET …/service/{name}/apis, properties.serviceUrl),
// both paged with nextLink. They are read once the instance itself has
// been read, after deployment only; run probes them from this VM.

// maxBackendURLs bounds what the two lists may add together.
const maxBackendURLs = 500

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
	s.afterInstance(ctx, list(snapshot.ReadBackends), list(snapshot.ReadAPIs))
}

func (s *armSession) readBackendList(ctx context.Context, name, id, service string) {
	r := snapshot.NewInstanceRead(name, service, id)
	start := s.begin(r.Name)
	path, kind := id+"/backends", "backend"
	if name == snapshot.ReadAPIs {
		path, kind = id+"/apis", "API"
	}
	var urls []snapshot.BackendURL
	var err error
	for page := 0; page < 10 && path != "" && err == nil; page++ {
		var wire backendsWire
		if err = s.GetJSON(ctx, path, snapshot.APIMAPIVersion, &wire); err == nil {
			for _, v := range wire.Value {
				raw := v.Properties.URL
				if name == snapshot.ReadAPIs {
					raw = v.Properties.ServiceURL
				}
				raw = bounded.Line(raw)
				if raw == "" || len(urls) >= maxBackendURLs {
					continue
				}
				u := snapshot.BackendURL{URL: raw, Source: kind + " " + cmp.Or(bounded.Line(v.Name), "(unnamed)")}
				if t := v.Properties.TLS; t != nil && name == snapshot.ReadBackends {
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

// Backends blocks until both reads of the instance's backends have
// finished (or every read has), and returns them; nil when ctx ended first.
func (d *Discovery) Backends(ctx context.Context) *snapshot.BackendsView {
	if !d.waitRead(ctx, snapshot.ReadBackends) || !d.waitRead(ctx, snapshot.ReadAPIs) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.BackendsView()
}

var (
	_ snapshot.BackendsSource = (*Discovery)(nil)
	_ snapshot.BackendsSource = snapshot.Static{}
)
