package discover

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// arrivals tells when Resource Manager was first asked for a path (by its
// last element, "GET snet-apim"), and how often.
type arrivals struct {
	mu     sync.Mutex
	seen   map[string]chan struct{}
	counts map[string]int
	paths  []string
}

func newArrivals() *arrivals {
	return &arrivals{seen: map[string]chan struct{}{}, counts: map[string]int{}}
}

func (a *arrivals) ch(key string) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.seen[key]
	if !ok {
		c = make(chan struct{})
		a.seen[key] = c
	}
	return c
}

func (a *arrivals) arrive(r *http.Request) {
	key := r.Method + " " + r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	c := a.ch(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.paths = append(a.paths, r.Method+" "+r.URL.Path)
	if a.counts[key]++; a.counts[key] == 1 {
		close(c)
	}
}

func (a *arrivals) count(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[key]
}

// after answers as next does once every key has arrived; a request whose
// client gave up first (the reads' deadline: the read it waits for never
// came) is answered 504.
func (a *arrivals) after(next http.HandlerFunc, keys ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, k := range keys {
			select {
			case <-a.ch(k):
			case <-r.Context().Done():
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
		}
		next(w, r)
	}
}

// recording is newARM whose requests arrivals sees before overrides
// answer them.
func recording(t *testing.T, a *arrivals, override map[string]http.HandlerFunc) *armServer {
	s := newARM(t, nil)
	inner := s.Config.Handler
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.arrive(r)
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		if h, ok := override[r.Method+" "+last]; ok && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			h(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return s
}

// fixtureHandler answers with a test fixture.
func fixtureHandler(t *testing.T, name string) http.HandlerFunc {
	return jsonHandler(fixture(t, name))
}

// jsonHandler answers body as JSON.
func jsonHandler(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

// waitReads runs Discover with o and waits for its reads within 20 s: a
// read that waits for one that is never asked would hold them all until
// then, and the test says which, and what a asked.
func waitReads(t *testing.T, a *arrivals, o Options) *snapshot.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := mustDiscover(t, ctx, o).Wait(ctx)
	t.Cleanup(func() {
		if t.Failed() {
			a.mu.Lock()
			t.Logf("asked: %v", a.paths)
			a.mu.Unlock()
		}
	})
	if s == nil {
		t.Fatal("the reads did not end")
	}
	for name, r := range s.Reads {
		if r.Status == snapshot.ReadTimeout || r.HTTPStatus == http.StatusGatewayTimeout {
			t.Errorf("read %s waited for a read that was not asked beside it: %s %s", name, r.Status, r.Message)
		}
	}
	return s
}

// Each read starts as soon as what it needs is known: Resource Manager
// answers the VM only once the subnet the instance names, its permissions
// and its virtual network have been asked, and the NIC only once both
// effective views have been. Read one after the other, the VM read would
// wait for reads that follow it, until the deadline.
func TestReadsStartWhenTheirInputsAreKnown(t *testing.T) {
	imds, _ := fakeIMDS(t)
	a := newArrivals()
	arm := recording(t, a, map[string]http.HandlerFunc{
		"GET jumpbox":     a.after(fixtureHandler(t, "vm.json"), "GET snet-apim", "GET permissions", "GET vnet-hub"),
		"GET jumpbox-nic": a.after(fixtureHandler(t, "nic.json"), "POST effectiveRouteTable", "POST effectiveNetworkSecurityGroups"),
	})
	o := baseOpts(imds.URL, arm)
	s := waitReads(t, a, o)
	for name, r := range s.Reads {
		if !r.OK() {
			t.Errorf("read %s: %s %s", name, r.Status, r.Message)
		}
	}
	// The snapshot is the one the reads in order gave.
	if s.Subnet == nil || s.Subnet.ID != s.JumpboxSubnetID || s.InstanceSubnet || s.Configured == nil ||
		!s.Configured.HaveVNet || !s.Configured.HaveRouteTable || s.Configured.SubnetNSG == nil || s.Predeploy == nil ||
		len(s.Routes) == 0 || len(s.NSGs) == 0 {
		t.Errorf("snapshot incomplete: subnet %+v configured %+v predeploy %+v routes %d nsgs %d",
			s.Subnet, s.Configured, s.Predeploy, len(s.Routes), len(s.NSGs))
	}
	if n := a.count("GET snet-apim"); n != 1 {
		t.Errorf("the subnet was read %d times", n)
	}
}

// Without --mode, this VM and its NIC do not wait for the instance whose
// mode decides which subnet is judged: Resource Manager answers the
// instance only once the NIC has been asked.
func TestModeFromInstanceDoesNotHoldTheNIC(t *testing.T) {
	imds, _ := fakeIMDS(t)
	a := newArrivals()
	arm := recording(t, a, map[string]http.HandlerFunc{
		"GET contoso": a.after(fixtureHandler(t, "apim.json"), "GET jumpbox-nic"),
	})
	o := baseOpts(imds.URL, arm)
	o.ModeAuto, o.Phase = true, probes.DeployPost
	s := waitReads(t, a, o)
	if !s.Read(snapshot.ReadNIC).OK() || !s.Read(snapshot.ReadAPIM).OK() || !s.Read(snapshot.ReadSubnet).OK() {
		t.Fatalf("nic %+v apim %+v subnet %+v", s.Read(snapshot.ReadNIC), s.Read(snapshot.ReadAPIM), s.Read(snapshot.ReadSubnet))
	}
}

// A NIC read that fails after the reads started beside it have their
// answers (the subnet, its NSG, route table, virtual network and
// permissions, the effective views) leaves the snapshot as when they
// followed it: those reads were never made, the NIC's failure says why, and
// the long-running read held beside it is cut rather than waited for.
func TestReadsBesideAFailedNICAreNotRecorded(t *testing.T) {
	imds, _ := fakeIMDS(t)
	a := newArrivals()
	pollCut := make(chan struct{})
	arm := recording(t, a, map[string]http.HandlerFunc{
		"GET jumpbox-nic": a.after(armError(http.StatusForbidden, "AuthorizationFailed"),
			"GET nsg-apim", "GET rt-apim", "GET vnet-hub", "GET permissions", "GET routes-1", "GET nsgs-1"),
		// The effective routes never complete: only being cut ends them.
		"GET routes-1": func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			close(pollCut)
		},
	})
	o := baseOpts(imds.URL, arm)
	s := waitReads(t, a, o)
	nic := s.Read(snapshot.ReadNIC)
	if nic == nil || nic.Status != snapshot.ReadDenied {
		t.Fatalf("nic %+v", nic)
	}
	for _, name := range []string{snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs, snapshot.ReadSubnet} {
		r := s.Read(name)
		if r == nil || r.Status != snapshot.ReadNotTried || !strings.Contains(r.Message, "the nic read failed (denied") {
			t.Errorf("%s: %+v", name, r)
		}
	}
	for _, name := range []string{snapshot.ReadSubnetNSG, snapshot.ReadRouteTable, snapshot.ReadVNet, snapshot.ReadPermissions, snapshot.ReadNICNSG} {
		if r, ok := s.Reads[name]; ok {
			t.Errorf("%s recorded: %+v", name, r)
		}
	}
	if s.Subnet != nil || s.Configured != nil || s.Predeploy != nil || s.Routes != nil || s.NSGs != nil {
		t.Errorf("held answers leaked: subnet %+v configured %+v predeploy %+v routes %v nsgs %v", s.Subnet, s.Configured, s.Predeploy, s.Routes, s.NSGs)
	}
	// The reads ended long before their deadline (nothing waited for the
	// poll), and Resource Manager sees the poll given up (when the
	// stream's reset reaches it).
	if s.Duration > 10*time.Second {
		t.Errorf("the reads waited %v for a read the NIC's failure dropped", s.Duration)
	}
	select {
	case <-pollCut:
	case <-time.After(10 * time.Second):
		t.Error("the held long-running read was not cut")
	}
	// The instance's side, which needs no NIC, is whole.
	for _, name := range []string{snapshot.ReadAPIM, snapshot.ReadNetworkStatus, snapshot.ReadDependencies, snapshot.ReadBackends, snapshot.ReadAPIs, snapshot.ReadServiceTags} {
		if !s.Read(name).OK() {
			t.Errorf("%s: %+v", name, s.Read(name))
		}
	}
}

// The instance names its subnet in another letter case than this VM's NIC
// does: classicSubnet judges the NIC's spelling, so the subnet read early
// under the instance's spelling is dropped and read again, as the reads in
// order did.
func TestEarlySubnetOfAnotherSpellingIsReadAgain(t *testing.T) {
	imds, _ := fakeIMDS(t)
	a := newArrivals()
	apim := strings.ReplaceAll(string(fixture(t, "apim.json")), "/resourceGroups/rg-net/", "/resourceGroups/RG-NET/")
	arm := recording(t, a, map[string]http.HandlerFunc{
		"GET contoso": jsonHandler([]byte(apim)),
		// The NIC answers once the early read was asked.
		"GET jumpbox-nic": a.after(fixtureHandler(t, "nic.json"), "GET snet-apim"),
	})
	o := baseOpts(imds.URL, arm)
	s := waitReads(t, a, o)
	if s.Subnet == nil || s.Subnet.ID != s.JumpboxSubnetID || !strings.Contains(s.Subnet.ID, "/rg-net/") {
		t.Fatalf("judged subnet %+v, NIC's %q", s.Subnet, s.JumpboxSubnetID)
	}
	if r := s.Read(snapshot.ReadSubnet); !r.OK() || !strings.Contains(r.CLI, "/rg-net/") {
		t.Errorf("subnet read %+v", r)
	}
	if p := s.Predeploy; p == nil || p.PermissionsScope != s.JumpboxSubnetID {
		t.Errorf("permissions %+v", p)
	}
	if n := a.count("GET snet-apim"); n != 2 {
		t.Errorf("the subnet was read %d times, want twice (early, then as the NIC names it)", n)
	}
}

// The NSG on this VM's NIC follows the NIC alone: Resource Manager answers
// the instance only once that NSG has been asked.
func TestNICNSGDoesNotWaitForTheInstance(t *testing.T) {
	imds, _ := fakeIMDS(t)
	a := newArrivals()
	nic := strings.Replace(string(fixture(t, "nic.json")), `"provisioningState": "Succeeded",`,
		`"provisioningState": "Succeeded", "networkSecurityGroup": {"id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-apim"},`, 1)
	arm := recording(t, a, map[string]http.HandlerFunc{
		"GET jumpbox-nic": jsonHandler([]byte(nic)),
		"GET contoso":     a.after(fixtureHandler(t, "apim.json"), "GET nsg-apim"),
	})
	o := baseOpts(imds.URL, arm)
	s := waitReads(t, a, o)
	if !s.Read(snapshot.ReadNICNSG).OK() || s.Configured == nil || s.Configured.NICNSG == nil || !s.Read(snapshot.ReadAPIM).OK() {
		t.Fatalf("nic-nsg %+v configured %+v apim %+v", s.Read(snapshot.ReadNICNSG), s.Configured, s.Read(snapshot.ReadAPIM))
	}
}
