package azurectx

import (
	"context"
	"net/netip"
	"sync"

	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
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
	Sources                               map[string]string
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
	instance *Instance
	done     chan struct{}

	mu   sync.Mutex
	ctx  Context
	snap *Snapshot
}

// Discover asks IMDS (bounded by its own short timeout) and returns at once,
// with the Resource Manager reads started in the background under one
// bound, opts.ARMBudget, so they run while the probes run. Flags win over
// discovery. Call Validate first; Discover returns its error otherwise.
// Wait (or a check built by Checks) collects the reads.
func Discover(ctx context.Context, opts Options) (*Discovery, error) {
	if err := Validate(&opts); err != nil {
		return nil, err
	}
	d := &Discovery{opts: opts, done: make(chan struct{}), ctx: Context{Sources: map[string]string{}}}
	c := &d.ctx
	c.set("region", &c.Region, opts.Region, SourceFlag)
	c.set("subnet", &c.Subnet, opts.Subnet, SourceFlag)
	c.set("instance_private_ip", &c.InstancePrivateIP, opts.PrivateIP, SourceFlag)

	in, err := fetchInstance(ctx, &d.opts)
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
	}

	// In auto mode a managed identity needs IMDS; outside Azure do not try.
	skip := opts.ARM == ARMOff || (opts.ARM == ARMAuto && err != nil && d.opts.Credential == CredManagedIdentity && d.opts.TokenCredential == nil)
	go func() {
		defer close(d.done)
		var snap *Snapshot
		if skip {
			snap = &Snapshot{Reads: map[string]*Read{}, ServiceTags: d.opts.tags}
			if opts.ARM == ARMOff {
				snap.Why = "Resource Manager is not used (--no-arm)"
			} else {
				snap.Why = "not running in Azure (the Instance Metadata Service did not answer), so there is no managed identity for Resource Manager"
			}
		} else {
			// The reads outlive Discover's caller only up to their budget.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.ARMBudget)
			snap = readARM(actx, &d.opts, d.instance)
			cancel()
			if snap.ServiceTags == nil {
				snap.ServiceTags = d.opts.tags
			}
		}
		d.mu.Lock()
		snap.Region, snap.SubnetPrefix = d.ctx.Region, d.ctx.Subnet
		d.snap = snap
		d.mergeARM(snap)
		d.mu.Unlock()
	}()
	return d, nil
}

// mergeARM adds what Resource Manager told to the context; flags still win.
func (d *Discovery) mergeARM(s *Snapshot) {
	c := &d.ctx
	if s.Enabled && s.TokenError == "" {
		c.Credential = s.Credential
	}
	if s.Subnet != nil && len(s.Subnet.Prefixes) > 0 {
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
// Manager's too once Wait has returned.
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
func (d *Discovery) Instance() *Instance { return d.instance }

// Wait blocks until the Resource Manager reads are done (at most the ARM
// budget after Discover) or ctx ends; it returns nil only when ctx ended
// first.
func (d *Discovery) Wait(ctx context.Context) *Snapshot {
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
func (d *Discovery) Snapshot(ctx context.Context) *Snapshot { return d.Wait(ctx) }

// ServiceTags returns the service tags: the --service-tags file at once,
// else ARM's list once the reads are done (nil when neither is available
// or ctx ends first).
func (d *Discovery) ServiceTags(ctx context.Context) *servicetags.Set {
	if d.opts.tags != nil {
		return d.opts.tags
	}
	if s := d.Wait(ctx); s != nil {
		return s.ServiceTags
	}
	return nil
}

// TagPrefixes returns the prefixes of a service tag ("AzureCloud",
// "AzureCloud.westeurope"), waiting for ARM's list when no file was given.
func (d *Discovery) TagPrefixes(ctx context.Context, tag string) []netip.Prefix {
	return d.ServiceTags(ctx).Prefixes(tag)
}
