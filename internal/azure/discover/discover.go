package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// Source values for Context.Sources (SPEC's context.sources).
const (
	SourceFlag = "flag"
	SourceIMDS = "imds"
	SourceARM  = "arm"
)

// Context holds the discovered values the report's context shows; empty
// means unknown. Sources is keyed by the report's JSON names.
type Context struct {
	Region, SubscriptionID, ResourceGroup string
	VMName, VMResourceID                  string
	VMPrivateIP, VMPublicIP, Subnet       string
	InstancePrivateIP, InstancePublicIP   string
	InstanceHostNames                     []string
	Credential                            string
	// Cloud is --cloud, else the one IMDS names; "" when neither knows.
	Cloud   probes.Cloud
	Sources map[string]string
	// IMDSError says why IMDS gave nothing (outside Azure), for the logs.
	IMDSError string
}

func (c *Context) set(key string, field *string, value, source string) {
	// Flags are set first and win; otherwise the first source that knew
	// the value (IMDS before ARM) stays.
	if value == "" || *field != "" {
		return
	}
	*field = value
	c.Sources[key] = source
}

// Discovery is IMDS's answer plus Resource Manager reads running in the
// background. It is safe for concurrent use.
type Discovery struct {
	opts     Options
	instance *imds.Instance
	started  time.Time
	done     chan struct{}

	// mu guards ctx and live, which the reads fill as they finish; each
	// change closes notify (and makes a new one) to wake the waiters.
	mu      sync.Mutex
	ctx     Context
	live    *snapshot.Snapshot
	notify  chan struct{}
	session *armSession // nil until the reads start, and without ARM
	// actions is the same session, kept once the reads are done, for the
	// actions a run asks for while its checks go on (ConnectivityCheck).
	actions *armSession
	snap    *snapshot.Snapshot // set once every read is done
}

// ErrNoToken wraps the reason no Resource Manager token could be had when
// Resource Manager is required (--arm): the CLI exits 2 on it.
var ErrNoToken = errors.New("--arm: Resource Manager cannot be used")

// readMargin is left between the reads' end and the run's deadline, for
// the analyses and the report.
const readMargin = 300 * time.Millisecond

// Discover asks IMDS and returns with the Resource Manager reads started
// in the background, so they run while the probes run. The reads are
// bounded by ctx's deadline less a margin (the run's --deadline: the
// long-running reads take 10 s and more on real Azure), and by ARMBudget
// when it is set. With ARM on (--arm) the token is had first, and an error
// wrapping ErrNoToken says why when it cannot be. Flags win over discovery.
// Options Validate passed are not checked again; others are, and
// Discover returns Validate's error. Wait (or a check judge.Checks built)
// collects the reads.
func Discover(ctx context.Context, opts Options) (*Discovery, error) {
	if !opts.validated {
		if err := Validate(&opts); err != nil {
			return nil, err
		}
	}
	d := &Discovery{opts: opts, started: time.Now(), done: make(chan struct{}), notify: make(chan struct{}), ctx: Context{Sources: map[string]string{}}}
	c := &d.ctx
	c.set("region", &c.Region, opts.Region, SourceFlag)
	c.set("subnet", &c.Subnet, opts.Subnet, SourceFlag)
	c.set("instance_private_ip", &c.InstancePrivateIP, opts.PrivateIP, SourceFlag)
	if opts.Cloud != "" {
		c.Cloud, c.Sources["cloud"] = opts.Cloud, SourceFlag
	}

	rctx, cancel := readsContext(ctx, opts)
	err := d.readIMDS(ctx)

	snap := &snapshot.Snapshot{Reads: map[string]*snapshot.Read{}, V2: !d.opts.Mode.Classic()}
	d.live = snap
	// In auto mode a managed identity needs IMDS; outside Azure do not try.
	skip := opts.ARM == ARMOff || (opts.ARM == ARMAuto && err != nil && d.opts.Credential == probes.CredManagedIdentity && d.opts.TokenCredential == nil)
	var sess *armSession
	switch {
	case opts.ARM == ARMOff:
		snap.Why = "Resource Manager is not used (--no-arm)"
	case skip:
		snap.Why = "not running in Azure (the Instance Metadata Service did not answer), so there is no managed identity for Resource Manager"
	case opts.ARM == ARMOn:
		// Required: the token first, and no probe without it.
		sess = prepareARM(rctx, &d.opts, d.instance, snap, &d.mu, d.changedLocked)
		if sess == nil {
			cancel()
			why := snap.Why
			if d.instance == nil {
				why = "not running on an Azure VM: " + bounded.Line(c.IMDSError)
			}
			return nil, fmt.Errorf("%w: %s", ErrNoToken, why)
		}
	}
	go func() {
		defer close(d.done)
		defer cancel()
		if !skip && opts.ARM != ARMOff && sess == nil {
			sess = prepareARM(rctx, &d.opts, d.instance, snap, &d.mu, d.changedLocked)
		}
		if sess != nil {
			d.mu.Lock()
			d.session, d.actions = sess, sess
			d.mu.Unlock()
			sess.run(rctx, d.instance)
			sess.Close()
		}
		d.mu.Lock()
		if snap.ServiceTags == nil {
			snap.ServiceTags = d.opts.tags
		}
		snap.Region, snap.SubnetPrefix = d.ctx.Region, d.ctx.Subnet
		snap.Duration = time.Since(d.started)
		d.mergeARM(snap)
		d.snap = snap
		d.session = nil
		d.changedLocked()
		d.mu.Unlock()
	}()
	return d, nil
}

// readIMDS asks the metadata service and adds what it told to the
// context; without it (or without a subnet from it), the interface's own
// address and prefix. It returns the metadata service's error.
func (d *Discovery) readIMDS(ctx context.Context) error {
	c := &d.ctx
	in, err := imds.FetchInstance(ctx, d.opts.IMDSEndpoint, d.opts.IMDSTimeout)
	if err != nil {
		c.IMDSError = err.Error()
	} else {
		d.instance = in
		c.set("region", &c.Region, in.Location, SourceIMDS)
		c.set("subscription_id", &c.SubscriptionID, in.SubscriptionID, SourceIMDS)
		c.set("resource_group", &c.ResourceGroup, in.ResourceGroup, SourceIMDS)
		c.set("vm_name", &c.VMName, in.Name, SourceIMDS)
		c.set("vm_resource_id", &c.VMResourceID, in.ResourceID, SourceIMDS)
		c.set("vm_private_ip", &c.VMPrivateIP, in.PrivateIP, SourceIMDS)
		c.set("vm_public_ip", &c.VMPublicIP, in.PublicIP, SourceIMDS)
		c.set("subnet", &c.Subnet, in.Subnet, SourceIMDS)
		if cl, ok := CloudOfEnvironment(in.AzEnvironment); ok && c.Cloud == "" {
			c.Cloud, c.Sources["cloud"] = cl, SourceIMDS
		}
	}
	if c.Subnet == "" {
		// No metadata service (or it named no subnet): the interface's
		// own address and prefix, never a guess.
		addrs := d.opts.InterfaceAddrs
		if addrs == nil {
			addrs = net.InterfaceAddrs
		}
		if ip, p, ok := interfaceSubnet(azureDNSVIP, addrs); ok {
			c.set("subnet", &c.Subnet, p.String(), SourceInterface)
			c.set("vm_private_ip", &c.VMPrivateIP, ip.String(), SourceInterface)
		}
	}
	return err
}

// readsContext bounds the reads: the caller's deadline less readMargin (a
// read cut there is reported, not lost), else arm.MaxReadWait; and ARMBudget.
func readsContext(ctx context.Context, o Options) (context.Context, context.CancelFunc) {
	end := time.Now().Add(arm.MaxReadWait)
	if dl, ok := ctx.Deadline(); ok {
		end = dl.Add(-min(readMargin, time.Until(dl)/10))
	}
	if o.ARMBudget > 0 {
		end = minTime(end, time.Now().Add(o.ARMBudget))
	}
	return context.WithDeadline(ctx, end)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// changedLocked merges what the reads found so far into the context and
// wakes the waiters; d.mu is held.
func (d *Discovery) changedLocked() {
	d.mergeARM(d.live)
	close(d.notify)
	d.notify = make(chan struct{})
}

// mergeARM adds what Resource Manager told to the context; flags still win.
// d.mu is held.
func (d *Discovery) mergeARM(s *snapshot.Snapshot) {
	c := &d.ctx
	if s.Enabled && s.TokenError == "" {
		c.Credential = s.Credential
	}
	// The judged subnet is the instance's in the v2 modes; the context's
	// subnet is this VM's.
	if s.Subnet != nil && !s.InstanceSubnet && len(s.Subnet.Prefixes) > 0 {
		c.set("subnet", &c.Subnet, s.Subnet.Prefixes[0].String(), SourceARM)
	}
	if s.NICPrivateIP != "" {
		c.set("vm_private_ip", &c.VMPrivateIP, s.NICPrivateIP, SourceARM)
	}
	if a := s.APIM; a != nil {
		if len(a.PrivateIPs) > 0 {
			c.set("instance_private_ip", &c.InstancePrivateIP, a.PrivateIPs[0], SourceARM)
		}
		if len(a.PublicIPs) > 0 {
			c.set("instance_public_ip", &c.InstancePublicIP, a.PublicIPs[0], SourceARM)
		}
		c.InstanceHostNames = a.HostNames
		if c.Region == "" && a.Location != "" {
			c.set("region", &c.Region, a.Location, SourceARM)
		}
	}
}

// Context returns the values known now: IMDS and flags at once, Resource
// Manager's as its reads finish.
func (d *Discovery) Context() Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.ctx
	c.Sources = make(map[string]string, len(d.ctx.Sources))
	for k, v := range d.ctx.Sources {
		c.Sources[k] = v
	}
	return c
}

// Instance returns what IMDS said, or nil outside Azure.
func (d *Discovery) Instance() *imds.Instance { return d.instance }

// Wait blocks until the Resource Manager reads are done (by the reads'
// deadline) or ctx ends; it returns nil only when ctx ended first.
func (d *Discovery) Wait(ctx context.Context) *snapshot.Snapshot {
	select {
	case <-d.done:
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.snap
	case <-ctx.Done():
		return nil
	}
}

// Snapshot implements SnapshotSource.
func (d *Discovery) Snapshot(ctx context.Context) *snapshot.Snapshot { return d.Wait(ctx) }

// waitRead blocks until the named read has finished (or every read has),
// and reports whether it did before ctx ended.
func (d *Discovery) waitRead(ctx context.Context, name string) bool {
	for {
		d.mu.Lock()
		_, ok := d.live.Reads[name]
		ch := d.notify
		finished := d.snap != nil
		d.mu.Unlock()
		if ok || finished {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// WaitInstance blocks until the instance's resource has been read (or
// every read is done); false when ctx ended first. Context then holds what
// it told (the instance's addresses), without waiting for the
// long-running reads.
func (d *Discovery) WaitInstance(ctx context.Context) bool { return d.waitRead(ctx, snapshot.ReadAPIM) }

// Pending lists the reads still in flight, oldest first, with how long
// each has run: what the run is waiting for.
func (d *Discovery) Pending() []PendingRead {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.session == nil {
		return nil
	}
	var out []PendingRead
	for name, t := range d.session.pending {
		out = append(out, PendingRead{Name: name, Title: snapshot.ReadTitle(name), For: time.Since(t)})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].For > out[j].For || (out[i].For == out[j].For && out[i].Name < out[j].Name)
	})
	return out
}

// PendingRead is one read in flight.
type PendingRead struct {
	Name, Title string
	For         time.Duration
}

// ServiceTags returns the service tags: the --service-tags file at once,
// else ARM's list once its read is done (nil when neither is available or
// ctx ends first).
func (d *Discovery) ServiceTags(ctx context.Context) *servicetags.Set {
	if d.opts.tags != nil {
		return d.opts.tags
	}
	if !d.waitRead(ctx, snapshot.ReadServiceTags) {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live.ServiceTags
}

// TagPrefixes returns the prefixes of a service tag ("AzureCloud",
// "AzureCloud.westeurope"), waiting for ARM's list when no file was given.
func (d *Discovery) TagPrefixes(ctx context.Context, tag string) []netip.Prefix {
	return d.ServiceTags(ctx).Prefixes(tag)
}
