package probes

import (
	"net"
	"net/url"
	"strconv"
)

// Target is what a check reaches, as a value: a host and port, a URL (HTTP
// checks), a bare name (DNS checks), or what an analysis judges. Packages
// read its fields; only outputs render it, with String.
type Target struct {
	// Host is a DNS name or an IP address.
	Host string
	// Port is the TCP port; 0 for DNS and analysis checks.
	Port int
	// URL is the whole URL an HTTP check asks, with no query string.
	URL string
	// Subject names what an analysis check judges when it reaches no host
	// ("inbound TCP 3443 from ApiManagement", a subnet's resource id).
	Subject string
}

// HostPort is the target of a TCP or TLS check.
func HostPort(host string, port int) Target { return Target{Host: host, Port: port} }

// Name is the target of a DNS check.
func Name(host string) Target { return Target{Host: host} }

// Subject is the target of an analysis check.
func Subject(what string) Target { return Target{Subject: what} }

// URLTarget is the target of an HTTP check. The query string is dropped
// but for api-version: it may carry a signature or a key, and no output may
// show one.
func URLTarget(raw string) Target {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Target{Subject: ScrubURL(raw)}
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[u.Scheme]
	}
	return Target{Host: u.Hostname(), Port: port, URL: ScrubURL(raw)}
}

// String renders the target as SPEC's report shows it: the URL, host:port,
// the name, or the subject.
func (t Target) String() string {
	switch {
	case t.URL != "":
		return t.URL
	case t.Host != "" && t.Port > 0:
		return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	case t.Host != "":
		return t.Host
	}
	return t.Subject
}
