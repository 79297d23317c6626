package resolver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// ResolvConf is the part of /etc/resolv.conf that decides how the VM itself
// resolves names: its servers, the search list and the timing options.
type ResolvConf struct {
	Servers  []netip.AddrPort
	Search   []string
	Ndots    int
	Timeout  time.Duration
	Attempts int
}

// glibc's defaults (resolv.conf(5)); the limits are glibc's too, so that a
// hostile or mistyped file cannot make a lookup outlive its budget by much.
const (
	defaultNdots    = 1
	maxNdots        = 15
	defaultTimeout  = 5 * time.Second
	maxTimeout      = 30 * time.Second
	defaultAttempts = 2
	maxAttempts     = 5
	maxSearch       = 6
	// maxNameservers is glibc's MAXNS: the VM itself asks no more than
	// the first three nameserver lines, so neither does the comparison.
	maxNameservers = 3
)

// MaxDNSServers bounds --dns-server: each one is asked every question of a
// run on sockets of its own, and a VNet has at most a few resolvers (Azure
// lets a VNet name 20 at most; the VM uses three).
const MaxDNSServers = 20

// DefaultResolvConf is what glibc assumes when resolv.conf says nothing.
func DefaultResolvConf() ResolvConf {
	return ResolvConf{Ndots: defaultNdots, Timeout: defaultTimeout, Attempts: defaultAttempts}
}

// ParseResolvConf reads resolv.conf(5): nameserver, search, domain and the
// ndots, timeout and attempts options. Unknown lines are ignored, as glibc
// does; a nameserver that is not an IP address is an error, because silently
// dropping the VM's resolver would make the comparison lie.
func ParseResolvConf(r io.Reader) (ResolvConf, error) {
	return parseResolvConf(r, maxNameservers)
}

// parseResolvConf keeps at most maxNS nameservers: glibc's three for the
// file the VM itself reads.
func parseResolvConf(r io.Reader, maxNS int) (ResolvConf, error) {
	rc := DefaultResolvConf()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexAny(text, "#;"); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				return ResolvConf{}, fmt.Errorf("resolv.conf line %d: nameserver without an address", line)
			}
			addr, err := netip.ParseAddr(f[1])
			if err != nil {
				return ResolvConf{}, fmt.Errorf("resolv.conf line %d: nameserver %q is not an IP address", line, f[1])
			}
			if err := checkZone(addr); err != nil {
				return ResolvConf{}, fmt.Errorf("resolv.conf line %d: nameserver %q: %w", line, f[1], err)
			}
			if len(rc.Servers) == maxNS {
				continue // glibc ignores the rest too
			}
			rc.Servers = append(rc.Servers, netip.AddrPortFrom(addr.Unmap(), 53))
		case "search":
			// The last search or domain line wins (resolv.conf(5)).
			rc.Search = nil
			for _, d := range f[1:] {
				if len(rc.Search) == maxSearch {
					break
				}
				rc.Search = append(rc.Search, strings.TrimSuffix(strings.ToLower(d), "."))
			}
		case "domain":
			if len(f) >= 2 {
				rc.Search = []string{strings.TrimSuffix(strings.ToLower(f[1]), ".")}
			}
		case "options":
			for _, o := range f[1:] {
				name, val, ok := strings.Cut(o, ":")
				if !ok {
					continue
				}
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 {
					continue // glibc ignores malformed options too
				}
				switch name {
				case "ndots":
					rc.Ndots = min(n, maxNdots)
				case "timeout":
					// Clamp the count before scaling it: a huge n would
					// overflow time.Duration and turn negative.
					rc.Timeout = time.Duration(min(max(n, 1), int(maxTimeout/time.Second))) * time.Second
				case "attempts":
					rc.Attempts = min(max(n, 1), maxAttempts)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ResolvConf{}, fmt.Errorf("resolv.conf: %w", err)
	}
	return rc, nil
}

// LoadResolvConf reads the file at path (normally /etc/resolv.conf).
func LoadResolvConf(path string) (ResolvConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("cannot read resolver configuration: %w", err)
	}
	defer f.Close()
	rc, err := ParseResolvConf(f)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("%s: %w", path, err)
	}
	return rc, nil
}

// ParseServer parses a --dns-server or --azure-dns value: IP or IP:PORT, with
// IPv6 as ::1 or [::1]:53. The port defaults to 53.
func ParseServer(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.AddrPort{}, errors.New("DNS server address is empty: want IP or IP:PORT")
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		if err := checkZone(addr); err != nil {
			if strings.ContainsAny(addr.Zone(), "]:") {
				// Most likely a port typed after the zone.
				return netip.AddrPort{}, fmt.Errorf("DNS server %q: %w; an address with a zone and a port is written [fe80::1%%eth0]:53", s, err)
			}
			return netip.AddrPort{}, fmt.Errorf("DNS server %q: %w", s, err)
		}
		return netip.AddrPortFrom(addr.Unmap(), 53), nil
	}
	host, portStr, ok := cutHostPort(s)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("DNS server %q is not an IP address or IP:PORT", s)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("DNS server %q is not an IP address or IP:PORT (host names are not accepted)", s)
	}
	if err := checkZone(addr); err != nil {
		return netip.AddrPort{}, fmt.Errorf("DNS server %q: %w", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("DNS server %q: port %q is not a number from 1 to 65535", s, portStr)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

// ParseServers parses every --dns-server value (ParseServer) and refuses
// more than MaxDNSServers of them.
func ParseServers(values []string) ([]netip.AddrPort, error) {
	if len(values) > MaxDNSServers {
		return nil, fmt.Errorf("%d DNS servers given, at most %d are accepted (the VM itself asks three)", len(values), MaxDNSServers)
	}
	var out []netip.AddrPort
	for _, v := range values {
		a, err := ParseFlagServer(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseFlagServer is ParseServer for an address the operator types (a
// --dns-server or --azure-dns): one that cannot be a resolver to ask —
// 0.0.0.0 or ::, a broadcast or a multicast address — is refused. (In
// resolv.conf, glibc reads 0.0.0.0 as this machine, so ParseServer keeps
// it.)
func ParseFlagServer(s string) (netip.AddrPort, error) {
	a, err := ParseServer(s)
	if err != nil {
		return a, err
	}
	ip := a.Addr()
	switch {
	case ip.IsUnspecified():
		return netip.AddrPort{}, fmt.Errorf("DNS server %q is the unspecified address: name the resolver's own address", s)
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return netip.AddrPort{}, fmt.Errorf("DNS server %q is the broadcast address: name the resolver's own address", s)
	case ip.IsMulticast():
		return netip.AddrPort{}, fmt.Errorf("DNS server %q is a multicast address: name the resolver's own address", s)
	}
	return a, nil
}

// maxZone is the longest interface name Linux allows (IFNAMSIZ less the NUL).
const maxZone = 15

// checkZone refuses an IPv6 zone that cannot be an interface name or index.
// netip takes every byte after '%' as the zone, so "::1%x]:53" would be the
// address ::1 in zone "x]:53" on port 53: a mistyped [addr]:port silently
// taken for a nonsense address, which could not even be written back as
// [addr]:port (its ']' ends the brackets early).
func checkZone(a netip.Addr) error {
	z := a.Zone()
	if z == "" {
		return nil
	}
	if len(z) > maxZone {
		return fmt.Errorf("zone %q is longer than an interface name (at most %d characters)", z, maxZone)
	}
	for _, r := range z {
		if r <= ' ' || r > '~' || strings.ContainsRune("[]%/:", r) {
			return fmt.Errorf("zone %q is not an interface name or index (it holds %q)", z, r)
		}
	}
	return nil
}

// cutHostPort splits "1.2.3.4:53" and "[::1]:53". A bare IPv6 address was
// handled before, so a colon-laden string without brackets is rejected.
func cutHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") != 1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// ParseSubnet parses --subnet. The prefix is masked ("10.0.0.5/24" is taken
// as 10.0.0.0/24) because operators paste an address from the portal.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--subnet %q is not a CIDR prefix such as 10.0.1.0/24", s)
	}
	return p.Masked(), nil
}

// ParsePrivateIP parses --private-ip and, when the subnet is known (valid),
// checks that the address lies inside it: an instance's private VIP is always
// taken from its own subnet.
func ParsePrivateIP(s string, subnet netip.Prefix) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--private-ip %q is not an IP address", s)
	}
	a = a.Unmap()
	if subnet.IsValid() && !subnet.Contains(a) {
		return netip.Addr{}, fmt.Errorf("--private-ip %s is outside --subnet %s: the instance's VIP must come from its subnet", a, subnet)
	}
	return a, nil
}
