package resolver

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
)

// Where a server in the set came from (Server.Source).
const (
	SourceResolvConf = "resolv.conf"
	SourceFlag       = "flag"
	SourceAzureDNS   = "azure-dns"
	// SourceSystemdResolved: an upstream server of systemd-resolved, read
	// from its own resolv.conf.
	SourceSystemdResolved = "systemd-resolved"
)

// SystemdResolvedConf is where systemd-resolved writes the servers it
// forwards to (systemd-resolved(8)): on stock Ubuntu /etc/resolv.conf names
// only its stub 127.0.0.53, and the servers DHCP handed out (168.63.129.16,
// or the VNet's custom servers) are here (azure-facts §12.1).
const SystemdResolvedConf = "/run/systemd/resolve/resolv.conf"

// IsStub says whether a resolv.conf nameserver is a resolver on this machine
// (systemd-resolved's 127.0.0.53, dnsmasq's 127.0.1.1, any 127.x or ::1; glibc
// reads 0.0.0.0 as this machine too): what it answers is what this VM's
// applications get, but not what the VNet's DNS servers answer.
func IsStub(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified()
}

// Stubs are the nameservers of rc that are local stub resolvers.
func (rc ResolvConf) Stubs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range rc.Servers {
		if IsStub(s.Addr()) {
			out = append(out, s)
		}
	}
	return out
}

// Upstreams are the servers a local stub forwards to, or why none were found.
type Upstreams struct {
	Servers []netip.AddrPort
	// Source is where they were read (SourceSystemdResolved).
	Source string
	// Missing says why no upstream server is known; "" when Servers holds
	// some.
	Missing string
}

// FindUpstreams reads the upstream servers of the stubs among rc's
// nameservers from systemd-resolved's file at path (SystemdResolvedConf when
// ""). It returns the zero value when rc names no stub. Entries of that file
// that are the stub itself are left out; the rest are kept up to
// MaxDNSServers, since systemd-resolved, unlike glibc, uses more than three.
func FindUpstreams(rc ResolvConf, path string) Upstreams {
	stubs := rc.Stubs()
	if len(stubs) == 0 {
		return Upstreams{}
	}
	if path == "" {
		path = SystemdResolvedConf
	}
	u := Upstreams{Source: SourceSystemdResolved}
	f, err := os.Open(path)
	if err != nil {
		why := "cannot be read"
		if errors.Is(err, fs.ErrNotExist) {
			why = "does not exist (the stub is not systemd-resolved, or it does not run)"
		}
		u.Missing = fmt.Sprintf("the local stub resolver %s forwards to servers apimprobe cannot find: %s %s", stubs[0].Addr(), path, why)
		return u
	}
	defer f.Close()
	conf, err := parseResolvConf(f, MaxDNSServers)
	if err != nil {
		u.Missing = fmt.Sprintf("the local stub resolver %s forwards to servers apimprobe cannot find: %s", stubs[0].Addr(), err)
		return u
	}
	for _, s := range conf.Servers {
		if !slices.Contains(stubs, s) && !slices.Contains(u.Servers, s) {
			u.Servers = append(u.Servers, s)
		}
	}
	if len(u.Servers) == 0 {
		u.Missing = fmt.Sprintf("the local stub resolver %s forwards to servers apimprobe cannot find: %s names no server of its own", stubs[0].Addr(), path)
	}
	return u
}
