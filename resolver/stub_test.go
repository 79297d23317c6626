package resolver

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/probes"
)

// The two files of stock Ubuntu on Azure (azure-facts §12.1): /etc/resolv.conf
// is systemd-resolved's stub file, the VNet's servers are in its own file.
func TestFindUpstreams(t *testing.T) {
	rc, err := LoadResolvConf(filepath.Join("testdata", "ubuntu-stub-resolv.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.Stubs(); len(got) != 1 || got[0].String() != "127.0.0.53:53" {
		t.Fatalf("stubs %v", got)
	}
	u := FindUpstreams(rc, filepath.Join("testdata", "ubuntu-systemd-resolv.conf"))
	var got []string
	for _, s := range u.Servers {
		got = append(got, s.String())
	}
	// systemd-resolved uses every server it knows, not glibc's three.
	if want := []string{"10.100.0.4:53", "10.100.0.5:53", "10.100.1.4:53", "10.100.1.5:53"}; !slices.Equal(got, want) || u.Missing != "" || u.Source != SourceSystemdResolved {
		t.Fatalf("upstreams %v (%s), missing %q", got, u.Source, u.Missing)
	}

	// Not found: said so, naming the stub and the file.
	none := filepath.Join(t.TempDir(), "resolv.conf")
	u = FindUpstreams(rc, none)
	if len(u.Servers) != 0 || !strings.Contains(u.Missing, "127.0.0.53") || !strings.Contains(u.Missing, none) || !strings.Contains(u.Missing, "does not exist") {
		t.Errorf("missing file: %+v", u)
	}
	// A file that names only the stub itself.
	if err := os.WriteFile(none, []byte("nameserver 127.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if u = FindUpstreams(rc, none); len(u.Servers) != 0 || !strings.Contains(u.Missing, "names no server") {
		t.Errorf("stub-only file: %+v", u)
	}
	// Any loopback or unspecified nameserver is a stub; a VNet server is not.
	for s, stub := range map[string]bool{"127.0.0.53": true, "127.0.1.1": true, "::1": true, "0.0.0.0": true, "10.0.0.4": false, "168.63.129.16": false} {
		if IsStub(netip.MustParseAddr(s)) != stub {
			t.Errorf("IsStub(%s) = %v", s, !stub)
		}
	}
	// No stub: nothing is read, nothing is missing.
	plain := ResolvConf{Servers: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.4:53")}}
	if u := FindUpstreams(plain, none); len(u.Servers) != 0 || u.Missing != "" {
		t.Errorf("no stub: %+v", u)
	}
}

// A jumpbox that asks a local stub: the stub (what the VM's applications
// get) and its upstream (what the VNet's DNS answers) are both asked and
// shown, each with its source; the VM's own answer is the stub's.
func TestStubAndUpstreamsAsked(t *testing.T) {
	good := func() netip.AddrPort { return serve(t, "ip4", newZone(t, gw+". 60 IN A 10.1.2.5")) }
	stub, upstream, azure := good(), good(), good()
	mk := func(stub, upstream netip.AddrPort) *Set {
		rc := DefaultResolvConf()
		rc.Servers = []netip.AddrPort{stub}
		s, err := New(Options{ResolvConf: &rc, Upstreams: Upstreams{Servers: []netip.AddrPort{upstream}, Source: SourceSystemdResolved},
			AzureDNS: azure, Expect: Fixed(internal)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	set := mk(stub, upstream)
	r := runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Pass, probes.ReasonOK)
	if !strings.Contains(r.Message, "the local stub resolver "+stub.String()) {
		t.Errorf("message %q does not name the stub", r.Message)
	}
	ev := r.Evidence["resolvers"].([]ViewEvidence)
	var roles []string
	for _, v := range ev {
		roles = append(roles, string(v.Role)+"/"+v.Source)
	}
	if want := []string{"vnet/resolv.conf", "upstream/systemd-resolved", "azure/azure-dns"}; !slices.Equal(roles, want) {
		t.Errorf("resolvers %v, want %v", roles, want)
	}
	if srv := set.Servers(); !srv[0].Stub() || srv[1].Stub() || srv[2].Stub() {
		t.Errorf("stub flags %+v", srv)
	}

	// The upstream does not forward (NXDOMAIN) while the stub answers from
	// its cache: the VNet's own server disagrees, which is what the
	// instance would see.
	set = mk(stub, serve(t, "ip4", newZone(t, publicSOA)))
	r = runCheck(t, set, internal, IDGateway)
	wantResult(t, r, probes.Warn, probes.ReasonResolverDisagree)
	if !strings.Contains(r.Message, "(the stub's upstream) answers NXDOMAIN") {
		t.Errorf("message %q", r.Message)
	}

	// The VM asks only the stub: a silent stub is the VM's failure, even
	// when the upstream answers.
	set = mk(silent(t), upstream)
	if addrs, err := set.LookupHost(ctxT(t, 1500*time.Millisecond), gw); err == nil {
		t.Errorf("a silent stub resolved to %v through its upstream", addrs)
	}
}
