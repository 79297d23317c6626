package judge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/internal/azure/wire"
	"github.com/apimprobe/apimprobe/probes"
)

const (
	docVNetRef      = "learn.microsoft.com/azure/api-management/virtual-network-reference"
	docForcedTunnel = "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-forced-tunneling.md"
	docInjection    = "learn.microsoft.com/azure/api-management/virtual-network-injection-resources"
)

func classic(mode probes.Mode) bool { return mode.Classic() }

// judgedNote says, in a route.* or subnet.* verdict that does not say it
// already, that the subnet judged is the instance's and not this VM's.
func judgedNote(res probes.Result, s *snapshot.Snapshot) probes.Result {
	if !s.JudgesOtherSubnet() || s.Subnet == nil || s.Subnet.Name == "" || res.Reason == probes.ReasonNotApplicable ||
		strings.Contains(res.Message, s.Subnet.Name) {
		return res
	}
	res.Message += " [the instance's subnet " + s.Subnet.Name + "; apimprobe runs in another]"
	return res
}

// tunnelHint makes route.forced-tunnel's advice for traffic forced through
// an appliance or gateway fit the mode (tunnelFix). A default route that
// drops traffic keeps its own hint.
func tunnelHint(res probes.Result, mode probes.Mode) probes.Result {
	hop, _ := res.Evidence["next_hop_type"].(string)
	if res.Reason != probes.ReasonForcedTunnel || hop == "" || strings.EqualFold(hop, "None") || strings.EqualFold(hop, "Internet") {
		return res
	}
	res.Hint = tunnelFix(mode)
	return res
}

// tunnelFix is what makes forced tunnelling work in the mode: only the
// classic tiers have management traffic on 3443 whose replies need an
// ApiManagement → Internet route, and each mode depends on its own service
// tags (azure-facts §11.5).
func tunnelFix(mode probes.Mode) string {
	switch mode {
	case probes.ModeV2Injected:
		return "Forced tunnelling works when the appliance lets Azure Storage and Azure Key Vault through without TLS inspection, or service endpoints (Microsoft.Storage, Microsoft.KeyVault) keep them off it; v2 injection has no management traffic in the subnet, so no ApiManagement route is needed. See the route.dependency.* checks."
	case probes.ModeV2Integrated:
		return "Forced tunnelling works when the appliance lets Azure Key Vault (and the backends the instance calls) through without TLS inspection, or a Microsoft.KeyVault service endpoint keeps Key Vault off it; outbound integration has no management traffic in the subnet, so no ApiManagement route is needed. See route.dependency.keyvault."
	default:
		return "Forced tunnelling works only with a route for service tag ApiManagement with next hop Internet and service endpoints (or firewall rules) for Storage, Sql, AzureKeyVault and AzureMonitor; see the route.management-return and route.dependency.* checks."
	}
}

// Checks builds every route.* and subnet.* analysis check. Each probe waits
// for the snapshot within its own ctx and then analyses it; a check that
// does not apply to the mode is a planning-time skip (not-applicable).
func Checks(src snapshot.Source, opts Config) []probes.Check {
	opts.defaults()
	b := &checks{src: src, opts: opts}
	b.tunnelChecks()
	b.dependencyRouteChecks()
	b.nsgChecks()
	b.subnetConfigCheck()
	b.out = append(b.out, modeCheck(src, opts))
	return append(b.out, predeployChecks(src, opts)...)
}

// checks gathers the analysis checks of one snapshot source.
type checks struct {
	src  snapshot.Source
	opts Config
	out  []probes.Check
}

// add adds an analysis check; its verdict says which subnet was judged.
func (b *checks) add(c probes.Check, applies bool, naWhy string, run func(*snapshot.Snapshot) probes.Result) {
	b.out = append(b.out, analysisCheck(b.src, c, applies, naWhy, func(s *snapshot.Snapshot) probes.Result { return judgedNote(run(s), s) }))
}

// addRoute is add for a route analysis, which may take the wire's word
// (route.egress-ip) where the configured view cannot see.
func (b *checks) addRoute(c probes.Check, applies bool, naWhy string, run func(*snapshot.Snapshot, func() *probes.Result) probes.Result) {
	c = analysisCheck(b.src, c, applies, naWhy, nil)
	if c.Preset == nil {
		c.Probe = analysisCtx(b.src, func(ctx context.Context, s *snapshot.Snapshot) probes.Result {
			return judgedNote(run(s, func() *probes.Result {
				if b.opts.Wire == nil {
					return nil
				}
				return b.opts.Wire.Egress(ctx)
			}), s)
		})
	}
	b.out = append(b.out, c)
}

// tunnelChecks: route.forced-tunnel and route.management-return.
func (b *checks) tunnelChecks() {
	mode := b.opts.Mode
	// route.forced-tunnel
	b.addRoute(probes.Check{ID: "route.forced-tunnel", Title: "Default route (forced tunnelling)", Category: "Routing",
		Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleDefaultRoute},
		Target: probes.Subject("effective routes 0.0.0.0/0"), Source: docForcedTunnel,
		Why: "API Management's outbound traffic follows the subnet's default route; through an appliance it needs the routes and service endpoints the other route checks verify"},
		true, "", func(s *snapshot.Snapshot, egress func() *probes.Result) probes.Result {
			const lookFor = "that 0.0.0.0/0 has next hop Internet, or which appliance carries it"
			v, skip := routeView(s, lookFor, egress)
			if skip != nil {
				return *skip
			}
			return withView(tunnelHint(forcedTunnel(routeTable(s, v.routes), v.bgp, mode, lookFor), mode), v)
		})

	// route.management-return
	b.addRoute(probes.Check{ID: "route.management-return", Title: "Return path of management traffic (3443)", Category: "Routing",
		Required: true, Target: probes.Subject("effective routes for service tag ApiManagement"), Source: docForcedTunnel,
		Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleManagementReturn, ServiceTag: "ApiManagement", Protocol: probes.ProtoTCP,
			ResourceType: "ApiManagement Control Plane - inbound"},
		Why: "replies to the control plane's connections on 3443 must leave to the Internet directly, or they are dropped by the appliance"},
		classic(mode), "the v2 tiers have no management endpoint on 3443 in the subnet, so there is no return path to check",
		func(s *snapshot.Snapshot, egress func() *probes.Result) probes.Result {
			const lookFor = "that every ApiManagement service-tag prefix has next hop Internet"
			v, skip := routeView(s, lookFor, egress)
			if skip != nil {
				return *skip
			}
			pfx := tagPrefixes(s, "ApiManagement", true)
			if pfx == nil {
				return noTags(s, "ApiManagement")
			}
			return withView(managementReturn(routeTable(s, v.routes), pfx, v.bgp, lookFor), v)
		})
}

// dependencyRouteChecks: route.dependency.*, one per dependency.
func (b *checks) dependencyRouteChecks() {
	mode := b.opts.Mode
	// route.dependency.*
	type dep struct {
		id                   probes.Dependency
		tag, se, port, title string
		applies              bool
	}
	// What each mode's reference asks for (azure-facts §11.5): classic
	// tiers all four; v2 injection Storage and Key Vault; v2 outbound
	// integration Key Vault only.
	deps := []dep{
		{probes.DepStorage, "Storage", "Microsoft.Storage", "443", "Azure Storage", mode != probes.ModeV2Integrated},
		{probes.DepSQL, "Sql", "Microsoft.Sql", "1433", "Azure SQL", classic(mode)},
		{probes.DepKeyVault, "AzureKeyVault", "Microsoft.KeyVault", "443", "Azure Key Vault", true},
		{probes.DepMonitor, "AzureMonitor", "", "1886 and 443", "Azure Monitor", classic(mode)},
	}
	for _, d := range deps {
		target := "effective routes for service tag " + d.tag
		if servicetags.RegionalAllowed(d.tag) {
			target += " (region)"
		}
		b.addRoute(probes.Check{ID: "route.dependency." + string(d.id), Title: "Route to " + d.title, Category: "Routing", Required: true,
			Facets: probes.Facets{Area: probes.AreaRoute, Role: probes.RoleDependencyRoute, Dependency: d.id, ServiceTag: d.tag, Protocol: probes.ProtoTCP},
			Target: probes.Subject(target), Source: docForcedTunnel,
			Why: d.title + " must be reachable without depending on an appliance; a service endpoint keeps it on the Azure backbone"},
			d.applies, "mode "+string(mode)+" does not depend on "+d.title+" from its subnet (its reference asks for no rule or route to "+d.tag+")",
			func(s *snapshot.Snapshot, egress func() *probes.Result) probes.Result {
				lookFor := "the next hop for the " + d.tag + " prefixes"
				v, skip := routeView(s, lookFor, egress)
				if skip != nil {
					return *skip
				}
				tag, pfx := regionalTag(s, d.tag)
				if pfx == nil {
					return noTags(s, d.tag)
				}
				var eps []string
				if s.Subnet != nil {
					eps = s.Subnet.ServiceEndpoints
				}
				tb := routeTable(s, v.routes)
				res := routes.DependencyRoute(tb, routes.Dependency{Tag: tag, ServiceEndpoint: d.se, Port: d.port}, pfx, eps)
				return withView(dependencyRoute(res, tb, pfx, d.se, eps, v.bgp, lookFor), v)
			})
	}
}

// nsgChecks: subnet.nsg.*, one per flow of the mode's reference.
func (b *checks) nsgChecks() {
	// subnet.nsg.*
	for _, f := range nsgFlows(b.opts.Mode) {
		b.add(probes.Check{ID: "subnet.nsg." + f.id, Title: f.title, Category: "Subnet", Required: f.required,
			Facets: probes.Facets{Area: probes.AreaSubnet, Role: probes.RoleNSGFlow, Dependency: f.dep, ServiceTag: f.tag, Protocol: f.proto},
			Target: probes.Subject(f.target), Source: docVNetRef, Why: f.why},
			f.applies, f.naWhy,
			func(s *snapshot.Snapshot) probes.Result {
				v, skip := nsgView(s, "that the subnet's NSG has "+f.lookFor)
				if skip != nil {
					return *skip
				}
				required, note := f.required, ""
				if f.judge != nil {
					var na string
					required, note, na = f.judge(s)
					if na != "" {
						return probes.Skipf(probes.ReasonNotApplicable, na, "")
					}
				}
				flows := []nsg.Flow{}
				if f.flows != nil {
					var decided *probes.Result
					if flows, decided = f.flows(s); decided != nil {
						return *decided
					}
				} else {
					flows = append(flows, f.build(s))
				}
				res := flowsResult(v.groups, flows, required)
				if v.upper != nil {
					if hi := flowsResult(v.upper, flows, required); hi.Status != res.Status {
						res = undecided(s, res, hi, v.vnet, f.lookFor)
					}
				}
				res = configuredNSG(s, res, v, flows, f.lookFor)
				if note != "" {
					res.Message += " (" + note + ")"
				}
				return withView(res, v)
			})
	}
}

// subnetConfigCheck: subnet.config.
func (b *checks) subnetConfigCheck() {
	// subnet.config
	b.add(probes.Check{ID: "subnet.config", Title: "Subnet delegation, NSG and size", Category: "Subnet", Required: true,
		Facets: probes.Facets{Area: probes.AreaSubnet, Role: probes.RoleSubnetConfig},
		Target: probes.Subject("the subnet's configuration"), Source: docInjection,
		Why: "the mode fixes the delegation, requires an NSG and a minimum size for the instance's units"},
		true, "", func(s *snapshot.Snapshot) probes.Result {
			if r := unavailable(s, "its delegation, NSG association and size", snapshot.ReadSubnet); r != nil {
				return *r
			}
			return otherSubnet(subnetConfig(s, b.opts), s)
		})
}

// analysis wraps an analysis into a probe that waits for the snapshot. The
// runner gives it the run's deadline (Check.UntilDeadline), and the reads
// end a margin before it, so a read the deadline cut is a skip that says so
// rather than a check cut with it.
// analysisCheck makes c an analysis of the snapshot that waits for it up to
// the run's deadline, or a not-applicable skip saying naWhy.
func analysisCheck(src snapshot.Source, c probes.Check, applies bool, naWhy string, run func(*snapshot.Snapshot) probes.Result) probes.Check {
	c.Kind = probes.KindAnalysis
	if !applies {
		r := probes.Skipf(probes.ReasonNotApplicable, naWhy, "")
		c.Preset = &r
		return c
	}
	c.Probe = analysis(src, run)
	c.UntilDeadline = true
	return c
}

func analysis(src snapshot.Source, run func(*snapshot.Snapshot) probes.Result) probes.Probe {
	return analysisCtx(src, func(_ context.Context, s *snapshot.Snapshot) probes.Result { return run(s) })
}

// analysisCtx is analysis for a run that needs the check's ctx.
func analysisCtx(src snapshot.Source, run func(context.Context, *snapshot.Snapshot) probes.Result) probes.Probe {
	return probes.ProbeFunc(func(ctx context.Context) probes.Result {
		s := src.Snapshot(ctx)
		if s == nil {
			if errors.Is(context.Cause(ctx), probes.ErrRunDeadline) {
				return probes.Failf(probes.ReasonDeadline, probes.PhaseAnalysis, "the run's --deadline ended the check before Resource Manager answered")
			}
			return probes.Skipf(probes.ReasonNotObservable, "Resource Manager did not answer before the check ended",
				"Raise --deadline to give Resource Manager's reads more time, or check with the az command for this analysis.")
		}
		return run(ctx, s)
	})
}

// unavailable returns the skip for a check whose read did not succeed, with
// the missing permission and the az command a person can run instead.
func unavailable(s *snapshot.Snapshot, lookFor string, need string) *probes.Result {
	r := s.Read(need)
	if r.OK() {
		return nil
	}
	cli := "az network nic show-effective-route-table / list-effective-nsg on this VM's NIC"
	perm := ""
	if r != nil {
		cli, perm = r.CLI, r.Permission
	} else if tmp := snapshot.NewRead(need, s.ResourceGroup, nonEmpty(s.NICName, "NIC"), "", s.Region); tmp != nil {
		cli, perm = tmp.CLI, tmp.Permission
	}
	var msg, hint string
	switch rej := s.Rejected(); {
	case rej != nil:
		// A refused token explains every read, made or not.
		msg = rej.Name + " read " + rej.Message
		hint = rej.Fix + "; then run again (or run `" + cli + "` and check " + lookFor + ")."
	case !s.Enabled || s.TokenError != "":
		msg = s.Why
		hint = fmt.Sprintf("Give the VM a managed identity with Reader and %s (or run after az login with the default credential chain), or run `%s` and check %s.", perm, cli, lookFor)
	case r == nil:
		msg = "this read was not made"
		hint = fmt.Sprintf("Run `%s` and check %s.", cli, lookFor)
	case r.Status == snapshot.ReadDenied:
		msg = r.Name + " read " + r.Message
		hint = fmt.Sprintf("Grant the %s identity %s on the resource group, or run `%s` and check %s.", nonEmpty(s.Credential, "used"), perm, cli, lookFor)
	case r.Status == snapshot.ReadTimeout:
		msg = r.Name + " read " + r.Message
		hint = fmt.Sprintf("Raise --deadline (Resource Manager takes 10 s or more to compute %s), or run `%s` and check %s.", snapshot.ReadTitle(need), cli, lookFor)
	case r.Status == snapshot.ReadUnreachable:
		msg = r.Name + " read: " + r.Message
		hint = fmt.Sprintf("Let this VM resolve and reach Resource Manager, %s (service tag AzureResourceManager), through its DNS servers, NSG and firewall, or run `%s` where it can and check %s.",
			s.EndpointWords(), cli, lookFor)
	case r.Status == snapshot.ReadThrottled:
		msg = r.Name + " read: " + r.Message
		hint = fmt.Sprintf("Run again once Resource Manager's throttling has passed (its Retry-After), or run `%s` and check %s.", cli, lookFor)
	case r.Status == snapshot.ReadNotTried && need == snapshot.ReadSubnet && s.InstanceSubnetUnknown:
		msg = r.Name + " read: " + r.Message
		hint = fmt.Sprintf("Pass --apim-subnet with the resource id of the instance's subnet (az apim show -n NAME -g RG --query virtualNetworkConfiguration.subnetResourceId), or check %s by hand.", lookFor)
	default:
		msg = r.Name + " read: " + r.Message
		hint = fmt.Sprintf("Run `%s` and check %s.", cli, lookFor)
	}
	res := probes.Skipf(probes.ReasonNotObservable, msg, hint)
	res.Evidence = map[string]any{"arm_read": need, "permission": perm}
	res.NeedsARM = s.Need(msg, perm, cli)
	if r != nil && r.Status == snapshot.ReadUnreachable {
		res.NeedsARM.Unreachable, res.NeedsARM.NoAnswer = s.EndpointWords(), r.NoAnswer
	}
	if r != nil {
		res.Evidence["read_status"] = r.Status
		if r.HTTPStatus != 0 {
			res.Evidence["http_status"] = r.HTTPStatus
		}
	}
	return &res
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func noTags(s *snapshot.Snapshot, tag string) probes.Result {
	msg := "the " + tag + " service-tag prefixes are unknown"
	if r := s.Read(snapshot.ReadServiceTags); r != nil && !r.OK() {
		msg += " (service tags read: " + r.Message + ")"
	}
	return probes.Skipf(probes.ReasonNoData, msg,
		"Pass --service-tags with the current ServiceTags JSON file for the cloud (Microsoft Download Center), or grant Microsoft.Network/locations/serviceTags/read.")
}

// ipv4Only: API Management's subnets carry IPv4; IPv6 tag prefixes would
// make every NSG allow look partial.
func ipv4Only(in []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range in {
		if p.Addr().Is4() {
			out = append(out, p)
		}
	}
	return out
}

// tagPrefixes returns a tag's prefixes together with its regional variant's
// (which the global tag normally contains already), deduplicated.
func tagPrefixes(s *snapshot.Snapshot, tag string, withRegional bool) []netip.Prefix {
	if s.ServiceTags == nil {
		return nil
	}
	t, ok := s.ServiceTags.Tag(tag)
	if !ok {
		return nil
	}
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	addAll := func(ps []netip.Prefix) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	addAll(t.Prefixes)
	if withRegional {
		if rt, ok := s.ServiceTags.Regional(tag, s.Region); ok {
			addAll(rt.Prefixes)
		}
	}
	return out
}

// regionalTag prefers the region's tag (Storage.westeurope) where regional
// tags are allowed (Storage, Sql, EventHub: azure-facts §11.6) and falls
// back to the global one when the region is unknown or has no such tag.
// AzureKeyVault and AzureMonitor are always global.
func regionalTag(s *snapshot.Snapshot, base string) (string, []netip.Prefix) {
	if s.ServiceTags == nil {
		return base, nil
	}
	if servicetags.RegionalAllowed(base) {
		// The judged subnet's location (a multi-region instance's
		// additional one when this VM's subnet is that location's) and the
		// primary's: each region's subnet needs both (azure-facts §11.6).
		regions := []string{nonEmpty(s.JudgedLocation, s.Region)}
		if s.APIM != nil && s.APIM.Location != "" && s.JudgedLocation != "" && snapshot.RegionName(s.APIM.Location) != snapshot.RegionName(s.JudgedLocation) {
			regions = append(regions, s.APIM.Location)
		}
		var names []string
		var pfx []netip.Prefix
		for _, r := range regions {
			if t, ok := s.ServiceTags.Regional(base, r); ok {
				names, pfx = append(names, t.Name), append(pfx, t.Prefixes...)
			}
		}
		if len(names) > 0 {
			return strings.Join(names, " and "), pfx
		}
	}
	return base, s.ServiceTags.Prefixes(base)
}

// routeTable builds a route table (effective or configured) with
// service-tag routes expanded from the snapshot's service tags; a tag route
// they cannot expand stays in the table's Unresolved list and the analyses
// name it.
func routeTable(s *snapshot.Snapshot, rs []routes.Route) *routes.Table {
	return routes.NewTable(routes.ExpandServiceTags(rs, func(tag string) []netip.Prefix {
		return s.ServiceTags.Prefixes(tag)
	}))
}

type flowSpec struct {
	id, title, target, why, lookFor, naWhy string
	required, applies                      bool
	build                                  func(*snapshot.Snapshot) nsg.Flow
	// flows, when set instead of build, gives several flows that must all
	// be allowed (both directions, UDP and TCP), or decides the check
	// without them (no DNS server to reach).
	flows func(*snapshot.Snapshot) ([]nsg.Flow, *probes.Result)
	// dep, tag and proto are the check's facets where one dependency,
	// service tag and transport are concerned.
	dep   probes.Dependency
	tag   string
	proto probes.Protocol
	// judge, when set, decides from what Resource Manager showed whether
	// the flow is required (the SKU, the instance's locations), with a
	// note for the message, or that it does not apply (na).
	judge func(*snapshot.Snapshot) (required bool, note, na string)
}

func subnetEndpoint(s *snapshot.Snapshot) nsg.Endpoint {
	ep := nsg.Endpoint{Tag: "VirtualNetwork"}
	if s.Subnet != nil && len(s.Subnet.Prefixes) > 0 {
		ep.Prefixes = ipv4Only(s.Subnet.Prefixes)
	} else if p, err := netip.ParsePrefix(s.SubnetPrefix); err == nil {
		ep.Prefixes = []netip.Prefix{p.Masked()}
	}
	return ep
}

func tagEndpoint(s *snapshot.Snapshot, tag string, regional bool) nsg.Endpoint {
	if regional {
		name, pfx := regionalTag(s, tag)
		return nsg.Endpoint{Tag: name, Prefixes: ipv4Only(pfx)}
	}
	return nsg.Endpoint{Tag: tag, Prefixes: ipv4Only(tagPrefixes(s, tag, false))}
}

// nsgFlows lists the flows the mode requires (azure-facts §1.1, §1.7, §2).
func nsgFlows(mode probes.Mode) []flowSpec {
	cl := classic(mode)
	inbound := func(port int, tag string, requireAll bool, fixed []netip.Prefix) func(*snapshot.Snapshot) nsg.Flow {
		return func(s *snapshot.Snapshot) nsg.Flow {
			src := nsg.Endpoint{Tag: tag, Prefixes: fixed}
			if fixed == nil && tag != "Internet" {
				src = tagEndpoint(s, tag, false)
			}
			return nsg.Flow{Direction: "Inbound", Protocol: "Tcp", Port: port, Source: src, Destination: instanceEndpoint(s), RequireAll: requireAll}
		}
	}
	outbound := func(port int, tag string, requireAll bool) func(*snapshot.Snapshot) nsg.Flow {
		return func(s *snapshot.Snapshot) nsg.Flow {
			dst := nsg.Endpoint{Tag: tag}
			if tag != "Internet" {
				dst = tagEndpoint(s, tag, true)
			}
			return nsg.Flow{Direction: "Outbound", Protocol: "Tcp", Port: port, Source: subnetEndpoint(s), Destination: dst, RequireAll: requireAll}
		}
	}
	lb := []netip.Prefix{netip.MustParsePrefix("168.63.129.16/32")}
	v2na := "the v2 tiers do not need this flow in mode " + string(mode)
	return append([]flowSpec{
		{id: "inbound-3443", title: "NSG: inbound 3443 from ApiManagement", target: "ApiManagement → VirtualNetwork TCP 3443",
			why: "the control plane manages the instance on 3443", lookFor: "an inbound allow for TCP 3443 from service tag ApiManagement above any deny",
			required: true, applies: cl, naWhy: v2na, build: inbound(3443, "ApiManagement", true, nil)},
		{id: "inbound-6390", title: "NSG: inbound 6390 from AzureLoadBalancer", target: "AzureLoadBalancer → VirtualNetwork TCP 6390",
			why: "Azure's infrastructure load balancer probes the instance on 6390", lookFor: "an inbound allow for TCP 6390 from service tag AzureLoadBalancer",
			required: true, applies: cl, naWhy: v2na, build: inbound(6390, "AzureLoadBalancer", true, lb), judge: developerNeedsNoLB},
		{id: "inbound-443", title: "NSG: inbound 443 from the Internet", target: "Internet → VirtualNetwork TCP 443",
			why: "in external mode clients reach the gateway and portal on 443 from the Internet", lookFor: "an inbound allow for TCP 443 from Internet",
			required: true, applies: mode == probes.ModeExternal, naWhy: "only external mode takes client traffic from the Internet", build: inbound(443, "Internet", false, nil)},
		{id: "outbound-storage-443", title: "NSG: outbound 443 to Storage", target: "VirtualNetwork → Storage TCP 443",
			why: "API Management keeps its configuration and logs in Azure Storage", lookFor: "an outbound allow for TCP 443 to service tag Storage",
			// v2 integration's document asks only for Key Vault (azure-facts §11.5).
			required: true, applies: mode != probes.ModeV2Integrated, naWhy: "v2 outbound integration's document requires only the Key Vault rule", build: outbound(443, "Storage", true)},
		{id: "outbound-sql-1433", title: "NSG: outbound 1433 to Sql", target: "VirtualNetwork → Sql TCP 1433",
			why: "API Management's own Azure SQL database", lookFor: "an outbound allow for TCP 1433 to service tag Sql",
			required: true, applies: cl, naWhy: v2na, build: outbound(1433, "Sql", true)},
		{id: "outbound-keyvault-443", title: "NSG: outbound 443 to AzureKeyVault", target: "VirtualNetwork → AzureKeyVault TCP 443",
			why: "certificates and named values stored in Key Vault", lookFor: "an outbound allow for TCP 443 to service tag AzureKeyVault",
			// Every mode: the v2 documents of December 2025 require it for
			// injection as well as integration (azure-facts §11.5).
			required: true, applies: true, build: outbound(443, "AzureKeyVault", true)},
		{id: "outbound-monitor-1886", title: "NSG: outbound 1886 to AzureMonitor", target: "VirtualNetwork → AzureMonitor TCP 1886",
			why: "metrics and Resource Health", lookFor: "an outbound allow for TCP 1886 to service tag AzureMonitor",
			required: true, applies: cl, naWhy: v2na, build: outbound(1886, "AzureMonitor", true)},
		{id: "outbound-monitor-443", title: "NSG: outbound 443 to AzureMonitor", target: "VirtualNetwork → AzureMonitor TCP 443",
			why: "diagnostic logs, metrics and Application Insights", lookFor: "an outbound allow for TCP 443 to service tag AzureMonitor",
			required: true, applies: cl, naWhy: v2na, build: outbound(443, "AzureMonitor", true)},
		{id: "outbound-internet-80", title: "NSG: outbound 80 to the Internet", target: "VirtualNetwork → Internet TCP 80",
			why: "certificate revocation lists and OCSP for Microsoft- and customer-managed certificates", lookFor: "an outbound allow for TCP 80 to Internet",
			required: true, applies: cl, naWhy: v2na, build: outbound(80, "Internet", false)},
	}, moreFlows(mode, lb)...)
}

// subnetConfig judges delegation, NSG association and size against the mode.
func subnetConfig(s *snapshot.Snapshot, o Config) probes.Result {
	sn := s.Subnet
	ev := map[string]any{"subnet_id": sn.ID, "delegations": sn.Delegations, "nsg": sn.NSGID, "route_table": sn.RouteTableID,
		"service_endpoints": sn.ServiceEndpoints, "ip_configurations": sn.IPConfigurations}
	var problems, fixes []string

	if sn.NSGID == "" {
		problems = append(problems, "no NSG is associated")
		fixes = append(fixes, "associate an NSG with the subnet")
	}
	want := wantDelegation(o.Mode)
	switch {
	case want == "" && len(sn.Delegations) > 0:
		problems = append(problems, "the subnet is delegated to "+strings.Join(sn.Delegations, ", ")+" but mode "+string(o.Mode)+" needs no delegation")
		fixes = append(fixes, "remove the delegation")
	case want != "" && !wire.ContainsFold(sn.Delegations, want):
		have := "nothing"
		if len(sn.Delegations) > 0 {
			have = strings.Join(sn.Delegations, ", ")
		}
		problems = append(problems, "the subnet is delegated to "+have+" but mode "+string(o.Mode)+" needs "+want)
		fixes = append(fixes, "delegate the subnet to "+want)
	}

	var p4 netip.Prefix
	for _, p := range sn.Prefixes {
		if p.Addr().Is4() {
			p4 = p
			break
		}
	}
	if p4.IsValid() {
		minBits := 29
		if !classic(o.Mode) {
			minBits = 27
		}
		units, perUnit, needed := addressesNeeded(s, o)
		total := 1 << (32 - p4.Bits())
		ev["prefix"], ev["units"], ev["addresses_needed"], ev["addresses_total"] = p4.String(), units, needed, total
		switch {
		case p4.Bits() > minBits:
			problems = append(problems, fmt.Sprintf("the subnet is a /%d, smaller than the /%d mode %s needs", p4.Bits(), minBits, o.Mode))
			fixes = append(fixes, fmt.Sprintf("use a /%d or larger subnet", minBits))
		case needed > total:
			problems = append(problems, fmt.Sprintf("%d units need %d addresses (5 reserved + %d per unit%s) but the subnet has %d", units, needed, perUnit, ilb(o.Mode), total))
			fixes = append(fixes, fmt.Sprintf("use a larger subnet (at least %d addresses)", needed))
		}
		// Before deployment other NICs (this VM) may already hold addresses.
		if s.APIM == nil && sn.IPConfigurations > 0 && len(problems) == 0 && total-5-sn.IPConfigurations < needed-5 {
			res := probes.Warnf(probes.ReasonSubnetConfig, probes.PhaseAnalysis,
				fmt.Sprintf("%d addresses are already taken in %s; %d units need %d more", sn.IPConfigurations, p4, units, needed-5))
			res.Evidence = ev
			res.Hint = "Free addresses in the subnet (move other VMs out) or use a larger subnet before deploying."
			return res
		}
	} else {
		ev["prefix"] = "unknown"
	}
	if len(problems) > 0 {
		res := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, strings.Join(problems, "; "))
		res.Evidence = ev
		res.Hint = capitalize(strings.Join(fixes, ", and ")) + "."
		return res
	}
	res := probes.Passf(fmt.Sprintf("subnet fits mode %s: NSG associated, delegation %s, size %s", o.Mode, nonEmpty(strings.Join(sn.Delegations, ","), "none"), nonEmpty(ev["prefix"].(string), "unknown")))
	res.Evidence = ev
	return res
}

// addressesNeeded is what the subnet must hold: the units (--units, else
// the instance's capacity, else 1), the addresses each takes (1 in the
// Developer tier, else 2), and the addresses all need (5 reserved by
// Azure, and the internal load balancer's in the internal mode).
func addressesNeeded(s *snapshot.Snapshot, o Config) (units, perUnit, needed int) {
	units, sku := o.Units, ""
	if s.APIM != nil {
		sku = s.APIM.SKU
		if units == 0 {
			units = s.APIM.Capacity
		}
	}
	if units <= 0 {
		units = 1
	}
	perUnit = 2
	if strings.EqualFold(sku, "Developer") {
		perUnit = 1
	}
	needed = 5 + perUnit*units
	if o.Mode == probes.ModeInternal {
		needed++ // the internal load balancer
	}
	return units, perUnit, needed
}

// otherSubnet says plainly, in the v2 modes, that apimprobe runs from
// another subnet than the instance's, and which of its results carry over.
func otherSubnet(res probes.Result, s *snapshot.Snapshot) probes.Result {
	if !s.InstanceSubnet {
		return res
	}
	here := "another subnet"
	if s.JumpboxSubnetID != "" {
		here = "subnet " + snapshot.ShortID(s.JumpboxSubnetID)
	}
	why := "since a v2 subnet holds nothing but the instance"
	if !s.V2 {
		why = "not in the instance's"
	}
	res.Message += fmt.Sprintf(" [judged on the instance's subnet %s; apimprobe runs in %s, %s: "+
		"the route.* and subnet.* verdicts are about the instance's subnet (configured view), while the dns.*, outbound.* and tls.* results "+
		"carry over only as far as this VM's subnet shares the instance's NSG rules, route table and DNS servers]", s.Subnet.Name, here, why)
	if res.Evidence == nil {
		res.Evidence = map[string]any{}
	}
	res.Evidence["judged_subnet"] = s.Subnet.ID
	res.Evidence["this_vm_subnet"] = s.JumpboxSubnetID
	return res
}

func ilb(mode probes.Mode) string {
	if mode == probes.ModeInternal {
		return " + 1 internal load balancer"
	}
	return ""
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
