package instanceview

import (
	"cmp"
	"context"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
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

// ReadBackends reads both lists of the instance the apim read found, in
// parallel. nextLinks go through GetJSON like every other read's.
func ReadBackends(ctx context.Context, s Session) {
	list := func(name string) instanceRead {
		return instanceRead{name, func(ctx context.Context, s Session, id, apimName string) { readBackendList(ctx, s, name, id, apimName) }}
	}
	afterInstance(ctx, s, list(snapshot.ReadBackends), list(snapshot.ReadAPIs))
}

func readBackendList(ctx context.Context, s Session, name, id, service string) {
	r := snapshot.NewInstanceRead(name, service, id)
	start := s.Begin(r.Name)
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
	s.Settle(ctx, r, start, err)
	s.Finish(r, func(snap *snapshot.Snapshot) {
		if err == nil {
			snap.BackendURLs = append(snap.BackendURLs, urls...)
			if len(snap.BackendURLs) > maxBackendURLs {
				snap.BackendURLs = snap.BackendURLs[:maxBackendURLs]
			}
		}
	})
}
