package main

// The instance's backends and APIs, and its own probe (ConnectivityCheck),
// in the shapes of the REST examples (apimanagement 2024-05-01:
// ApiManagementListBackends.json, ApiManagementListApis.json,
// ApiManagementPerformConnectivityCheck*.json): the lists are paged
// ({value, count, nextLink}, the backends in two pages); ConnectivityCheck
// answers 202 with a Location under …/connectivityCheck/operationresults/
// and, a moment later, 200 with hops, connectionStatus, latencies and
// probe counts. Their knobs are read from the same file as the others.

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// backendKnobs are a scenario's faults of the instance's own probe.
type backendKnobs struct {
	// Connectivity: the instance's answer per destination, by a substring
	// of the address it is asked ("legacy.backend.lab.test"); unlisted
	// destinations are Connected.
	Connectivity map[string]connectivityFault `json:"connectivity"`
	// ConnectivityDeny: 403 on ConnectivityCheck, as for Reader.
	ConnectivityDeny bool `json:"connectivity_deny"`
	// ConnectivitySeconds: how long each check takes (default 1).
	ConnectivitySeconds *float64 `json:"connectivity_seconds"`
}

// connectivityFault is what the instance reports for a destination it
// cannot reach: the status and the issue at the hop that stops it.
type connectivityFault struct {
	Status    string `json:"status"`     // Disconnected (default), Degraded
	IssueType string `json:"issue_type"` // NetworkSecurityRule, UserDefinedRoute …
	Rule      string `json:"rule"`       // the rule or route the issue names
	Hop       string `json:"hop"`        // the hop's type (VirtualAppliance …); its address is the appliance's
}

// The lab's backends (scripts/lab/lab serves them): orders through a
// private endpoint, legacy on "Azure's" side behind the appliance; the
// echo API's URL holds a named value.
var (
	backendsPages = [][]map[string]any{
		{backendEntity("orders", "https://orders.backend.lab.test/api")},
		{backendEntity("legacy", "https://legacy.backend.lab.test/soap")},
	}
	apiEntities = []map[string]any{
		apiEntity("echo-api", "Echo API", "{{echo-backend}}/echo"),
		apiEntity("orders-api", "Orders", "https://orders.backend.lab.test/api/v1"),
		apiEntity("legacy-api", "Legacy", "https://legacy.backend.lab.test/soap"),
	}
)

func backendEntity(name, url string) map[string]any {
	return map[string]any{"id": apimID + "/backends/" + name, "type": "Microsoft.ApiManagement/service/backends", "name": name,
		"properties": map[string]any{"url": url, "protocol": "http",
			"credentials": map[string]any{"header": map[string]any{"x-lab-key": []string{"lab-secret-not-for-reports"}}},
			"tls":         map[string]any{"validateCertificateChain": true, "validateCertificateName": true}}}
}

func apiEntity(name, display, serviceURL string) map[string]any {
	return map[string]any{"id": apimID + "/apis/" + name, "type": "Microsoft.ApiManagement/service/apis", "name": name,
		"properties": map[string]any{"displayName": display, "apiRevision": "1", "serviceUrl": serviceURL, "path": name,
			"protocols": []string{"https"}, "isCurrent": true}}
}

func (s *server) backendKnobs() backendKnobs {
	var k backendKnobs
	if b, err := os.ReadFile(s.knobsFile); err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			log.Printf("knobs %s: %v", s.knobsFile, err)
		}
	}
	return k
}

// serveBackends answers the backends and APIs lists and ConnectivityCheck;
// false leaves the request to the main switch.
func (s *server) serveBackends(w http.ResponseWriter, r *http.Request, p string) bool {
	switch {
	case r.Method == http.MethodGet && strings.EqualFold(p, apimID+"/backends"):
		page := 0
		if r.URL.Query().Get("page") == "2" {
			page = 1
		}
		next := ""
		if page == 0 {
			next = "https://" + r.Host + apimID + "/backends?api-version=2024-05-01&page=2"
		}
		writeJSON(w, 200, map[string]any{"value": backendsPages[page], "count": 2, "nextLink": next})
	case r.Method == http.MethodGet && strings.EqualFold(p, apimID+"/apis"):
		writeJSON(w, 200, map[string]any{"value": apiEntities, "count": len(apiEntities), "nextLink": ""})
	case r.Method == http.MethodPost && strings.EqualFold(p, apimID+"/connectivityCheck"):
		s.startConnectivityCheck(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(strings.ToLower(p), strings.ToLower(apimID+"/connectivityCheck/operationresults/")):
		s.pollConnectivityCheck(w, r, p)
	default:
		return false
	}
	return true
}

// checkRequest is the part of a ConnectivityCheck request the lab reads.
type checkRequest struct {
	Source struct {
		Region string `json:"region"`
	} `json:"source"`
	Destination struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"destination"`
	Protocol string `json:"protocol"`
}

// checks are the ConnectivityChecks started, by operation id.
var (
	checksMu sync.Mutex
	checks   = map[string]startedCheck{}
)

type startedCheck struct {
	req checkRequest
	at  time.Time
}

func (s *server) startConnectivityCheck(w http.ResponseWriter, r *http.Request) {
	k := s.backendKnobs()
	if k.ConnectivityDeny {
		armError(w, http.StatusForbidden, "AuthorizationFailed", "The client does not have authorization to perform this action over scope '"+apimID+"' or the scope is invalid.")
		return
	}
	var req checkRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.Source.Region == "" || req.Destination.Address == "" || req.Destination.Port == 0 {
		armError(w, http.StatusBadRequest, "ValidationError", "source.region, destination.address and destination.port are required")
		return
	}
	id := fmt.Sprintf("cc-%d", time.Now().UnixNano())
	checksMu.Lock()
	checks[id] = startedCheck{req: req, at: time.Now()}
	checksMu.Unlock()
	w.Header().Set("Location", "https://"+r.Host+apimID+"/connectivityCheck/operationresults/"+id+"?api-version=2024-05-01")
	w.Header().Set("Retry-After", "10")
	w.WriteHeader(http.StatusAccepted)
}

func (s *server) pollConnectivityCheck(w http.ResponseWriter, r *http.Request, p string) {
	id := p[strings.LastIndexByte(p, '/')+1:]
	k := s.backendKnobs()
	checksMu.Lock()
	c, ok := checks[id]
	checksMu.Unlock()
	posted, req := c.at, c.req
	if !ok {
		armError(w, http.StatusNotFound, "OperationNotFound", "no such operation")
		return
	}
	delay := time.Second
	if k.ConnectivitySeconds != nil {
		delay = time.Duration(*k.ConnectivitySeconds * float64(time.Second))
	}
	if time.Since(posted) < delay {
		w.Header().Set("Location", "https://"+r.Host+r.URL.RequestURI())
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	log.Printf("connectivity check answered for %s %s:%d", req.Protocol, req.Destination.Address, req.Destination.Port)
	writeJSON(w, 200, connectivityAnswer(req, k))
}

// connectivityAnswer is the instance's answer: Connected (Reachable for
// HTTP(S), as the HTTP example has it) from the instance's address to the
// destination, unless a knob names it.
func connectivityAnswer(req checkRequest, k backendKnobs) map[string]any {
	source := map[string]any{"type": "Source", "id": "7dbbe7aa-60ba-4650-831e-63d775d38e9e", "address": "198.18.1.5",
		"resourceId": apimID, "nextHopIds": []string{"75c8d819-b208-4584-a311-1aa45ce753f9"}, "issues": []any{}}
	dest := map[string]any{"type": "Internet", "id": "75c8d819-b208-4584-a311-1aa45ce753f9", "address": req.Destination.Address,
		"nextHopIds": []string{}, "issues": []any{}}
	status := "Connected"
	if req.Protocol == "HTTP" || req.Protocol == "HTTPS" {
		status = "Reachable"
	}
	sent, failed := int64(100), int64(0)
	if req.Protocol != "TCP" {
		sent = 3
	}
	for sub, f := range k.Connectivity {
		if !strings.Contains(req.Destination.Address, sub) {
			continue
		}
		status, failed = f.Status, sent
		if status == "" {
			status = "Disconnected"
		}
		if status == "Degraded" {
			failed = sent / 2
		}
		if f.IssueType != "" {
			issue := map[string]any{"origin": "Outbound", "severity": "Error", "type": f.IssueType}
			if f.Rule != "" {
				issue["context"] = []map[string]string{{"RuleName": f.Rule}}
			}
			source["issues"] = []any{issue}
		}
		if f.Hop != "" {
			dest = map[string]any{"type": f.Hop, "id": "26aa44e7-04f1-462f-aa5d-5951957b5650", "address": nvaIP, "nextHopIds": []string{}, "issues": []any{}}
		}
	}
	lat := int64(2)
	if failed == sent {
		lat = 0
	}
	return map[string]any{"hops": []any{source, dest}, "connectionStatus": status,
		"avgLatencyInMs": lat, "minLatencyInMs": lat, "maxLatencyInMs": lat * 2, "probesSent": sent, "probesFailed": failed}
}
