package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

const (
	computeAPIVersion = "2024-07-01"
)

// armSession is the reads' state over a Resource Manager session.
type armSession struct {
	*arm.Session
	o *Options

	// mu is the Discovery's: it guards snap and pending, and changed (the
	// Discovery's notice to its waiters) is called under it.
	mu      *sync.Mutex
	snap    *snapshot.Snapshot
	changed func()
	pending map[string]time.Time
	// tagCache is what the service tag cache gave or must be told
	// (tagcache.go).
	tagCache tagCacheState
	// gate, when set, holds this copy's reads until the read they follow
	// has ended (gate.go).
	gate *gate
}

// prepareARM builds the credential and gets a first token within ctx. It
// returns the session to run the reads with, or nil with snap.Why saying
// why Resource Manager cannot be used.
func prepareARM(ctx context.Context, o *Options, in *imds.Instance, snap *snapshot.Snapshot, mu *sync.Mutex, changed func()) *armSession {
	if o.ARM == ARMOff {
		snap.Why = "Resource Manager is not used (--no-arm)"
		return nil
	}
	if in == nil || in.SubscriptionID == "" || in.ResourceID == "" {
		snap.Why = "this VM's subscription and resource id are unknown (the Instance Metadata Service did not answer), so Resource Manager cannot be asked about its NIC"
		return nil
	}
	cc, err := arm.CloudConfig(o.cloudFor(in), o.ARMEndpoint)
	if err != nil {
		snap.Why = err.Error()
		return nil
	}
	cred, credName, err := arm.NewCredential(arm.CredentialConfig{Given: o.TokenCredential, Kind: o.Credential,
		IMDSEndpoint: o.IMDSEndpoint, ClientID: o.ManagedIdentityClientID}, cc)
	// One token for the run: the first one is the reads' too.
	cred = arm.CacheTokens(cred)
	snap.Credential = credName
	snap.Enabled = true
	if w := arm.EndpointWords(cc); w != "" {
		snap.Endpoint = w
	}
	// The session, and its first connection, while the token is asked
	// for: the first read then finds it made (arm.Session.Preconnect).
	var sess *arm.Session
	var serr error
	if err == nil {
		if sess, serr = arm.NewSession(ctx, cred, cc, o.ARMTransport, o.ConnectTimeout, in.SubscriptionID); serr == nil {
			sess.Preconnect(ctx)
		}
		err = arm.FirstToken(ctx, cred, cc)
	}
	if err != nil {
		if sess != nil {
			sess.Close()
		}
		snap.TokenError = bounded.Line(err.Error())
		snap.Why = fmt.Sprintf("no Resource Manager token from the %s credential: %s", credName, snap.TokenError)
		if ctx.Err() != nil {
			snap.Why = fmt.Sprintf("no Resource Manager token from the %s credential by %s", credName, o.deadlineWords())
		}
		return nil
	}
	if serr != nil {
		snap.Why = "cannot build the Resource Manager client: " + bounded.Line(serr.Error())
		return nil
	}
	return &armSession{Session: sess, o: o, snap: snap, mu: mu, changed: changed, pending: map[string]time.Time{}}
}

// begin marks a read as in flight, for the progress line.
func (s *armSession) begin(name string) time.Time {
	now := time.Now()
	s.mu.Lock()
	s.pending[name] = now
	s.mu.Unlock()
	return now
}

// finish records a read and, under the same lock, what it found, so that
// a waiter never sees the one without the other. A read held at a gate
// (gate.go) is recorded when the gate keeps it.
func (s *armSession) finish(r *snapshot.Read, store func()) {
	record := func() {
		if store != nil {
			store()
		}
		s.snap.Reads[r.Name] = r
	}
	held := s.gate.hold(record)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, r.Name)
	if held {
		return
	}
	record()
	if s.changed != nil {
		s.changed()
	}
}

func (s *armSession) record(r *snapshot.Read) { s.finish(r, nil) }

// run starts every read as soon as what it needs is known. The APIM
// instance, the service tags and this VM (then its NIC) start at once; the
// instance's own view and backends follow the instance; the effective
// routes and NSGs need only the NIC's name, which the VM read gives, and
// start beside the NIC read; the NIC's NSG follows the NIC. The subnet that
// is judged is read with its NSG, route table and virtual network (the
// configured view): the instance's in the v2 modes (from --apim-subnet,
// else from the instance's resource) as soon as it is known; in the
// classic modes the one classicSubnet picks, which needs this VM's NIC,
// but when the instance (or --apim-subnet) leaves one choice it is read
// beside the NIC. Reads that start before the read they follow has
// succeeded are held at a gate (gate.go), so that the snapshot is the one
// the reads made in order gave.
func (s *armSession) run(ctx context.Context, in *imds.Instance) {
	var wg sync.WaitGroup
	apimDone := s.startInstanceReads(ctx, &wg, in)
	if s.o.tags == nil {
		wg.Go(func() { s.readServiceTags(ctx, in) })
	}
	// This VM's NIC does not wait for the instance (nor for its mode).
	var nic nicRead
	nicDone := make(chan struct{})
	wg.Go(func() {
		defer close(nicDone)
		nic = s.readVMNIC(ctx, &wg, in)
		// What follows the NIC alone does not wait for the instance.
		nic.views.decide(nic.ok)
		if nic.ok && nic.scaleSet {
			s.noEffectiveViews(in)
		}
		if nic.ok && nic.nsgID != "" {
			wg.Go(func() { s.readNICNSG(ctx, nic.nsgID) })
		}
	})
	v2 := s.judgesV2(ctx, apimDone)
	var early *earlySubnet
	if v2 {
		wg.Go(func() { s.readInstanceSubnet(ctx, in, apimDone) })
	} else {
		early = s.startClassicSubnet(ctx, &wg, apimDone)
	}
	<-nicDone
	switch {
	case !nic.ok:
		early.drop()
		s.nicUnknown(in, v2)
	case !v2:
		// The subnet classicSubnet judges, unless it was read early (then
		// kept).
		s.mu.Lock()
		id := s.snap.JumpboxSubnetID
		s.mu.Unlock()
		id = s.classicSubnet(ctx, apimDone, id)
		if !early.keepIf(id) {
			wg.Go(func() { s.readConfigured(ctx, id) })
		}
	}
	wg.Wait()
	nic.views.release()
	early.release()
	s.settleTagCache(ctx, in)
}

// nicRead is what the VM and NIC reads found: the NIC's NSG, whether the
// NIC was read, whether it is a scale set VM's, and the gate its
// effective views wait at.
type nicRead struct {
	nsgID        string
	ok, scaleSet bool
	views        *gate
}

// readVMNIC reads this VM, then its NIC; the effective views start
// beside the NIC read, held until it has ended (a scale set VM's NIC has
// none).
func (s *armSession) readVMNIC(ctx context.Context, wg *sync.WaitGroup, in *imds.Instance) nicRead {
	var out nicRead
	nicID := s.readVM(ctx, in)
	if nicID == "" {
		return out
	}
	_, out.scaleSet = scaleSetNIC(nicID)
	if s.nameNIC(nicID, in) && !out.scaleSet {
		gs, gctx, g := s.gated(ctx)
		out.views = g
		wg.Go(func() { gs.readEffectiveRoutes(gctx) })
		wg.Go(func() { gs.readEffectiveNSGs(gctx) })
	}
	out.nsgID, out.ok = s.readNIC(ctx, nicID, in)
	return out
}

// earlySubnet is the classic modes' judged subnet read before this VM's
// NIC was: its id, its gate, and when its reads are done.
type earlySubnet struct {
	id   string
	g    *gate
	done chan struct{}
}

// startClassicSubnet starts the configured view of the subnet the
// classic modes judge when it is known before this VM's NIC: the
// instance names exactly one subnet (after deployment), or --apim-subnet
// is given (before). classicSubnet then picks it whatever the NIC (but
// for its letter case, which keepIf compares). nil when it is not known.
func (s *armSession) startClassicSubnet(ctx context.Context, wg *sync.WaitGroup, apimDone <-chan struct{}) *earlySubnet {
	id := s.o.APIMSubnet
	if s.o.Service != "" && s.o.Phase != probes.DeployPre {
		subnets := s.apimSubnets(ctx, apimDone)
		if id = ""; len(subnets) == 1 {
			id = subnets[0].SubnetID
		}
	}
	if id == "" {
		return nil
	}
	gs, gctx, g := s.gated(ctx)
	e := &earlySubnet{id: id, g: g, done: make(chan struct{})}
	wg.Go(func() {
		defer close(e.done)
		gs.readConfigured(gctx, id)
	})
	return e
}

// keepIf keeps the early reads when id is the subnet they read, and
// reports whether it did; otherwise they are dropped, and done once they
// have stopped.
func (e *earlySubnet) keepIf(id string) bool {
	if e == nil {
		return false
	}
	if e.id == id {
		e.g.decide(true)
		return true
	}
	e.drop()
	<-e.done
	return false
}

func (e *earlySubnet) release() {
	if e != nil {
		e.g.release()
	}
}

func (e *earlySubnet) drop() {
	if e != nil {
		e.g.decide(false)
	}
}

// startInstanceReads starts the reads of the instance (--service): its
// resource, and after it, its own view and its backends. The channel closes
// when the instance's resource is read (at once without --service).
func (s *armSession) startInstanceReads(ctx context.Context, wg *sync.WaitGroup, in *imds.Instance) chan struct{} {
	apimDone := make(chan struct{})
	if s.o.Service != "" {
		wg.Go(func() {
			defer close(apimDone)
			s.readAPIM(ctx, in)
		})
	} else {
		close(apimDone)
	}
	// The instance's own view (instanceview's networkstatus.go) exists only after
	// deployment, and its reads need the instance's resource id.
	if s.o.Service != "" && s.o.Phase != probes.DeployPre {
		wg.Go(func() {
			await(ctx, apimDone)
			s.readInstanceView(ctx, in)
		})
		wg.Go(func() {
			await(ctx, apimDone)
			s.readBackends(ctx, in)
		})
	}
	return apimDone
}

// await waits until done is closed or ctx ends, whichever comes first.
func await(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// apimSubnets waits for the instance's resource to be read (apimDone) or
// for ctx, and returns the subnets it names, per location.
func (s *armSession) apimSubnets(ctx context.Context, apimDone <-chan struct{}) []snapshot.LocationSubnet {
	await(ctx, apimDone)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.APIM.Subnets()
}

// judgesV2 says whether the subnet judged is the instance's (the v2
// modes): the mode's word, or with no --mode the instance's own, once its
// resource is read.
func (s *armSession) judgesV2(ctx context.Context, apimDone chan struct{}) bool {
	v2 := !s.o.Mode.Classic()
	if s.o.ModeAuto && s.o.Service != "" {
		// Which subnet is judged depends on the mode, which is the
		// instance's own: wait for its resource.
		await(ctx, apimDone)
		s.mu.Lock()
		if m, _ := snapshot.ModeOf(s.snap.APIM); m != "" {
			v2 = !m.Classic()
			s.snap.V2 = v2
		}
		s.mu.Unlock()
	}
	return v2
}

// noEffectiveViews records the effective views of a scale set VM's NIC as
// not made.
func (s *armSession) noEffectiveViews(in *imds.Instance) {
	// No effective views exist for it (vmss.go): the checks judge the
	// configured view and say why.
	rg, nic := s.rgNIC(in)
	for _, n := range []string{snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs} {
		r := snapshot.NewRead(n, rg, nic, in.ResourceID, in.Location)
		r.Status, r.Message = snapshot.ReadNotTried, noEffectiveViewForScaleSet
		// This NIC's command would be refused too.
		r.CLI = strings.Replace(r.CLI, "-g "+rg+" -n "+nic, "-g RG -n NIC", 1) + scaleSetCLINote
		s.record(r)
	}
}

// nicUnknown records the reads that need the NIC as not made, because the
// VM or NIC read failed.
func (s *armSession) nicUnknown(in *imds.Instance, v2 bool) {
	rg, nic := s.rgNIC(in)
	names := []string{snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs}
	if !v2 {
		names = append(names, snapshot.ReadSubnet)
	}
	s.mu.Lock()
	dep := s.snap.Reads[snapshot.ReadNIC]
	if dep == nil || dep.OK() {
		dep = s.snap.Reads[snapshot.ReadVM]
	}
	s.mu.Unlock()
	why := "the NIC is unknown because the VM or NIC read failed"
	if dep != nil && !dep.OK() && dep.Message != "" {
		why = "the NIC is unknown: the " + dep.Name + " read failed (" + dep.Message + ")"
	}
	for _, n := range names {
		r := snapshot.NewRead(n, rg, nic, in.ResourceID, in.Location)
		snapshot.NotMade(r, dep, why)
		s.record(r)
	}
}

func (s *armSession) rgNIC(in *imds.Instance) (string, string) {
	s.mu.Lock()
	rg, nic := s.snap.ResourceGroup, s.snap.NICName
	s.mu.Unlock()
	if rg == "" {
		rg = in.ResourceGroup
	}
	if nic == "" {
		nic = "NIC"
	}
	return rg, nic
}

// readInstanceSubnet finds the instance's subnet (v2 modes) and reads its
// configured view.
func (s *armSession) readInstanceSubnet(ctx context.Context, in *imds.Instance, apimDone <-chan struct{}) {
	id, why := s.o.APIMSubnet, ""
	var apimRead *snapshot.Read
	if id == "" && s.o.Service != "" && s.o.Phase != probes.DeployPre {
		await(ctx, apimDone)
		s.mu.Lock()
		switch a, r := s.snap.APIM, s.snap.Reads[snapshot.ReadAPIM]; {
		case a != nil && a.SubnetID != "":
			id = a.SubnetID
		case a != nil:
			why = "the instance " + a.Name + " has no virtualNetworkConfiguration.subnetResourceId (it is not in a virtual network)"
		case r != nil:
			why = "the instance's resource could not be read (" + r.Message + ")"
			apimRead = r
		default:
			why = "the instance's resource could not be read in time"
		}
		s.mu.Unlock()
	}
	if id == "" {
		if why == "" {
			why = "the instance's subnet is unknown before deployment"
		}
		r := snapshot.NewRead(snapshot.ReadSubnet, "", "", in.ResourceID, in.Location)
		snapshot.NotMade(r, apimRead, why+": pass --apim-subnet with the subnet's resource id")
		s.finish(r, func() { s.snap.InstanceSubnetUnknown = r.Status == snapshot.ReadNotTried })
		return
	}
	s.mu.Lock()
	s.snap.InstanceSubnet = true
	s.mu.Unlock()
	s.readConfigured(ctx, id)
}

// settle classifies a read's error into its status; nil means ok.
// settle classifies a read's error into its status; nil means ok.
func (s *armSession) settle(ctx context.Context, r *snapshot.Read, started time.Time, err error) {
	by := s.o.deadlineWords() // the deadline that bounds the reads
	r.Duration = time.Since(started)
	if err == nil {
		r.Status = snapshot.ReadOK
		return
	}
	var re *azcore.ResponseError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var me *arm.MalformedError
	var oh *arm.OffHostError
	switch {
	case errors.As(err, &oh):
		// Go's redirect error quotes the whole URL: only the guard's words.
		r.Status, r.Message = snapshot.ReadFailed, bounded.Line(oh.Error())
	case errors.As(err, &re):
		r.HTTPStatus, r.ErrorCode = re.StatusCode, re.ErrorCode
		switch re.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			denied(r, re, s.Audience()) // rbac.go, arm.Refused: a refused token is not a missing role
		case http.StatusTooManyRequests:
			r.Status = snapshot.ReadThrottled
			if re.RawResponse != nil {
				r.RetryAfter = bounded.Line(re.RawResponse.Header.Get("Retry-After"))
			}
			r.Message = "Resource Manager throttled the read (HTTP 429 " + bounded.Line(re.ErrorCode) + ")"
			if r.RetryAfter != "" {
				r.Message += " and asked to retry after " + bounded.RetryAfter(r.RetryAfter) + ", later than " + by + " allows"
			}
		case http.StatusNotFound:
			r.Status = snapshot.ReadNotFound
			r.Message = fmt.Sprintf("not found (HTTP 404 %s)", bounded.Line(re.ErrorCode))
		default:
			r.Status = snapshot.ReadFailed
			r.Message = fmt.Sprintf("HTTP %d %s", re.StatusCode, bounded.Line(re.ErrorCode))
		}
	case ctx.Err() == nil && arm.ConnectFailed(err):
		// Real Resource Manager connects in milliseconds: a connection
		// not made within the check limit was dropped on the way, and
		// waiting for the run's deadline would not change that.
		reason, words := probes.Classify(context.Background(), err)
		if reason == probes.ReasonTimeout {
			words = fmt.Sprintf("the connection was not answered within --timeout %s (dropped on the way: an NSG rule, a firewall or a route)", s.o.ConnectTimeout)
		}
		unreachable(r, arm.NoAnswer(reason, words, err))
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		r.Status = snapshot.ReadTimeout
		r.Message = fmt.Sprintf("did not finish by %s (still running after %s)", by, r.Duration.Round(100*time.Millisecond))
	case errors.As(err, &se), errors.As(err, &te), errors.As(err, &me),
		// azcore's runtime.UnmarshalAsJSON flattens the JSON error with %s,
		// so its wording is the only sign left of a malformed payload.
		strings.HasPrefix(err.Error(), "unmarshalling type "):
		r.Status = snapshot.ReadMalformed
		r.Message = "Resource Manager answered with a malformed payload: " + bounded.Line(err.Error())
	default:
		// No answer at all: the wire says why (a name that does not
		// resolve, a refused or dropped connection, TLS inspection).
		if reason, words := probes.Classify(context.Background(), err); reason != probes.ReasonError {
			unreachable(r, arm.NoAnswer(reason, words, err))
			return
		}
		r.Status = snapshot.ReadFailed
		r.Message = bounded.Line(err.Error())
	}
}

// unreachable records a read that got what (no answer from Resource
// Manager, and why) instead of an answer.
func unreachable(r *snapshot.Read, what string) {
	r.Status, r.Message, r.NoAnswer = snapshot.ReadUnreachable, "got "+what, what
}

func (s *armSession) readVM(ctx context.Context, in *imds.Instance) string {
	r := snapshot.NewRead(snapshot.ReadVM, in.ResourceGroup, "", in.ResourceID, in.Location)
	if p, ok := scaleSetVM(in.ResourceID); ok {
		r.Permission, r.CLI = snapshot.ScaleSetVMPermission, "az vmss show -g "+p.rg+" -n "+p.vmss+" --instance-id "+p.instance
	}
	start := s.begin(r.Name)
	var vm struct {
		Properties struct {
			NetworkProfile struct {
				NetworkInterfaces []struct {
					ID         string `json:"id"`
					Properties struct {
						Primary bool `json:"primary"`
					} `json:"properties"`
				} `json:"networkInterfaces"`
			} `json:"networkProfile"`
		} `json:"properties"`
	}
	err := s.GetJSON(ctx, in.ResourceID, computeAPIVersion, &vm)
	nics := vm.Properties.NetworkProfile.NetworkInterfaces
	if err == nil && len(nics) == 0 {
		err = arm.Malformed("the VM has no network interfaces in its networkProfile")
	}
	s.settle(ctx, r, start, err)
	s.record(r)
	if err != nil {
		return ""
	}
	// The primary NIC: IMDS's first address is the primary's, and one NIC
	// is the norm on a jumpbox.
	id := nics[0].ID
	for _, n := range nics {
		if n.Properties.Primary {
			id = n.ID
		}
	}
	return id
}

// readNIC reads this VM's NIC: the subnet it is in and the NSG on the NIC
// itself (id, "" when none).
func (s *armSession) readNIC(ctx context.Context, nicID string, in *imds.Instance) (nsgID string, ok bool) {
	rid, perr := azarm.ParseResourceID(nicID)
	s.mu.Lock()
	named := s.snap.NICID == nicID
	s.mu.Unlock()
	if !named {
		s.nameNIC(nicID, in)
	}
	// The effective views may be reading these beside: written before.
	s.mu.Lock()
	rg, name := s.snap.ResourceGroup, s.snap.NICName
	s.mu.Unlock()
	r := snapshot.NewRead(snapshot.ReadNIC, rg, name, in.ResourceID, in.Location)
	vmss, inScaleSet := scaleSetNIC(nicID)
	if inScaleSet {
		r.Permission, r.CLI = snapshot.ScaleSetNICPermission, "az vmss nic show -g "+rg+" --vmss-name "+vmss.vmss+" --instance-id "+vmss.instance+" -n "+name
	}
	start := s.begin(r.Name)
	if perr != nil {
		s.settle(ctx, r, start, arm.Malformed("the VM's NIC id does not parse: "+perr.Error()))
		s.record(r)
		return "", false
	}
	client, err := armnetwork.NewInterfacesClient(rid.SubscriptionID, s.Cred(), s.ClientOptions())
	var subnetID, ip string
	if err == nil {
		var nic armnetwork.Interface
		if inScaleSet {
			// Its own path: the plain one is 404 (vmss.go).
			var resp armnetwork.InterfacesClientGetVirtualMachineScaleSetNetworkInterfaceResponse
			resp, err = client.GetVirtualMachineScaleSetNetworkInterface(ctx, rg, vmss.vmss, vmss.instance, name, nil)
			nic = resp.Interface
		} else {
			var resp armnetwork.InterfacesClientGetResponse
			resp, err = client.Get(ctx, rg, name, nil)
			nic = resp.Interface
		}
		if err == nil && nic.Properties != nil {
			for _, ipc := range nic.Properties.IPConfigurations {
				if ipc == nil || ipc.Properties == nil || ipc.Properties.Subnet == nil || ipc.Properties.Subnet.ID == nil {
					continue
				}
				pip := deref(ipc.Properties.PrivateIPAddress)
				if subnetID == "" || (in.PrivateIP != "" && pip == in.PrivateIP) {
					subnetID, ip = *ipc.Properties.Subnet.ID, pip
				}
			}
			if g := nic.Properties.NetworkSecurityGroup; g != nil {
				nsgID = deref(g.ID)
			}
		}
		if err == nil && subnetID == "" {
			err = arm.Malformed("the NIC has no IP configuration with a subnet")
		}
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.NICPrivateIP, s.snap.JumpboxSubnetID, s.snap.NICNSGID = ip, subnetID, nsgID
		}
	})
	return nsgID, err == nil
}

// nameNIC records the NIC's resource group, name and id from the id the
// VM read gave, and reports whether the id parses (when it does not, the
// NIC read says so and its name is the placeholder "NIC").
func (s *armSession) nameNIC(nicID string, in *imds.Instance) bool {
	rid, err := azarm.ParseResourceID(nicID)
	rg, name := in.ResourceGroup, "NIC"
	if err == nil {
		rg, name = rid.ResourceGroupName, rid.Name
	}
	s.mu.Lock()
	s.snap.ResourceGroup, s.snap.NICName, s.snap.NICID = rg, name, nicID
	s.mu.Unlock()
	return err == nil
}

func convertSubnet(id, name string, sn armnetwork.Subnet) *snapshot.SubnetInfo {
	info := &snapshot.SubnetInfo{ID: id, Name: name}
	p := sn.Properties
	if p == nil {
		return info
	}
	addrs := joinOne(p.AddressPrefix, p.AddressPrefixes)
	info.Prefixes = parsePrefixes(toPtrs(addrs))
	for _, d := range p.Delegations {
		if d != nil && d.Properties != nil && d.Properties.ServiceName != nil {
			info.Delegations = append(info.Delegations, *d.Properties.ServiceName)
		}
	}
	if p.NetworkSecurityGroup != nil {
		info.NSGID = deref(p.NetworkSecurityGroup.ID)
	}
	if p.RouteTable != nil {
		info.RouteTableID = deref(p.RouteTable.ID)
	}
	for _, se := range p.ServiceEndpoints {
		if se != nil && se.Service != nil {
			info.ServiceEndpoints = append(info.ServiceEndpoints, *se.Service)
		}
	}
	info.IPConfigurations = len(p.IPConfigurations)
	info.Occupants = occupantsOf(p)
	return info
}

func (s *armSession) readServiceTags(ctx context.Context, in *imds.Instance) {
	r := snapshot.NewRead(snapshot.ReadServiceTags, "", "", in.ResourceID, in.Location)
	start := s.begin(r.Name)
	set, err := s.cachedTags(in), error(nil)
	if set == nil {
		set, err = s.ServiceTags(ctx, in.Location, networkAPIVersion)
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if set != nil {
			s.snap.ServiceTags = set
		}
	})
}

// readAPIM finds the instance in the VM's resource group, else anywhere in
// the subscription (the operator names only the instance).
func (s *armSession) readAPIM(ctx context.Context, in *imds.Instance) {
	r := snapshot.NewRead(snapshot.ReadAPIM, "", "", in.ResourceID, in.Location)
	r.CLI = strings.ReplaceAll(r.CLI, "NAME", s.o.Service)
	start := s.begin(r.Name)
	var svc apimResource
	err := s.GetJSON(ctx, "/subscriptions/"+s.Subscription()+"/resourceGroups/"+in.ResourceGroup+"/providers/Microsoft.ApiManagement/service/"+s.o.Service, snapshot.APIMAPIVersion, &svc)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		err = s.findAPIM(ctx, &svc)
	}
	if err == nil && svc.Name == "" {
		err = arm.Malformed("the API Management resource has no name")
	}
	s.settle(ctx, r, start, err)
	s.finish(r, func() {
		if err == nil {
			s.snap.APIM = svc.info()
		}
	})
}

func (s *armSession) findAPIM(ctx context.Context, out *apimResource) error {
	path := "/subscriptions/" + s.Subscription() + "/providers/Microsoft.ApiManagement/service"
	for page := 0; page < 10 && path != ""; page++ {
		var list struct {
			Value    []apimResource `json:"value"`
			NextLink string         `json:"nextLink"`
		}
		if err := s.GetJSON(ctx, path, snapshot.APIMAPIVersion, &list); err != nil {
			return err
		}
		for _, v := range list.Value {
			if strings.EqualFold(v.Name, s.o.Service) {
				*out = v
				return nil
			}
		}
		path = list.NextLink
	}
	return &azcore.ResponseError{StatusCode: http.StatusNotFound, ErrorCode: "ResourceNotFound"}
}

type apimResource struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Location string `json:"location"`
	SKU      struct {
		Name     string `json:"name"`
		Capacity int    `json:"capacity"`
	} `json:"sku"`
	Properties struct {
		PrivateIPAddresses  []string `json:"privateIPAddresses"`
		PublicIPAddresses   []string `json:"publicIPAddresses"`
		GatewayURL          string   `json:"gatewayUrl"`
		VirtualNetworkType  string   `json:"virtualNetworkType"`
		PlatformVersion     string   `json:"platformVersion"`
		AdditionalLocations []struct {
			Location                    string `json:"location"`
			VirtualNetworkConfiguration *struct {
				SubnetResourceID string `json:"subnetResourceId"`
			} `json:"virtualNetworkConfiguration"`
		} `json:"additionalLocations"`
		VirtualNetworkConfiguration *struct {
			SubnetResourceID string `json:"subnetResourceId"`
		} `json:"virtualNetworkConfiguration"`
		HostnameConfigurations []struct {
			HostName string `json:"hostName"`
		} `json:"hostnameConfigurations"`
	} `json:"properties"`
}

func (a apimResource) info() *snapshot.APIMInfo {
	i := &snapshot.APIMInfo{ID: a.ID, Name: a.Name, Location: a.Location, SKU: a.SKU.Name, Capacity: a.SKU.Capacity,
		PrivateIPs: a.Properties.PrivateIPAddresses, PublicIPs: a.Properties.PublicIPAddresses, VNetType: a.Properties.VirtualNetworkType,
		Platform: a.Properties.PlatformVersion}
	for _, l := range a.Properties.AdditionalLocations {
		if l.Location != "" {
			i.AdditionalLocations = append(i.AdditionalLocations, l.Location)
			if l.VirtualNetworkConfiguration != nil && l.VirtualNetworkConfiguration.SubnetResourceID != "" {
				i.AdditionalSubnets = append(i.AdditionalSubnets, snapshot.LocationSubnet{Location: l.Location, SubnetID: l.VirtualNetworkConfiguration.SubnetResourceID})
			}
		}
	}
	if a.Properties.VirtualNetworkConfiguration != nil {
		i.SubnetID = a.Properties.VirtualNetworkConfiguration.SubnetResourceID
	}
	if h := strings.TrimPrefix(a.Properties.GatewayURL, "https://"); h != "" {
		i.HostNames = append(i.HostNames, h)
	}
	for _, h := range a.Properties.HostnameConfigurations {
		if h.HostName != "" && !contains(i.HostNames, h.HostName) {
			i.HostNames = append(i.HostNames, h.HostName)
		}
	}
	return i
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func joinOne(one *string, many []*string) []string {
	var out []string
	if one != nil && *one != "" {
		out = append(out, *one)
	}
	for _, m := range many {
		if m != nil && *m != "" {
			out = append(out, *m)
		}
	}
	return out
}

func toPtrs(ss []string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

func parsePrefixes(in []*string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range in {
		if s == nil {
			continue
		}
		v := *s
		if !strings.Contains(v, "/") {
			if a, err := netip.ParseAddr(v); err == nil {
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}
