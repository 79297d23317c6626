package judge

import (
	"fmt"
	"sort"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

const (
	docV2Injection   = "learn.microsoft.com/azure/api-management/inject-vnet-v2"
	docV2Integration = "learn.microsoft.com/azure/api-management/integrate-vnet-outbound"
	docV2Provider    = "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-v2-delegation-requirement.md"
)

// Validate before deploy: on the subnet the instance will use (this VM's in
// the classic modes, --apim-subnet or the instance's in the v2 modes), the
// identity's permissions (Permissions API), the Microsoft.Web resource
// provider (v2), whether the subnet is free for the mode, and whether its
// virtual network is in the instance's region and subscription. The checks
// are subnet.permissions, subnet.provider, subnet.free and subnet.region.

func subnetCLI(subnetID string) string {
	return "az network vnet subnet show --ids " + nonEmpty(subnetID, "SUBNET_ID") + " --query '{delegations: delegations[].serviceName, ipConfigurations: ipConfigurations[].id, serviceAssociationLinks: serviceAssociationLinks[].linkedResourceType}'"
}

// vnetCLI shows the location of the subnet's virtual network.
func vnetCLI(subnetID string) string {
	vnet := "VNET_ID"
	if rid, err := azarm.ParseResourceID(subnetID); err == nil && rid.Parent != nil {
		vnet = rid.Parent.String()
	}
	return "az network vnet show --ids " + vnet + " --query location -o tsv"
}

// predeploySource is the document each mode's requirements come from.
func predeploySource(mode probes.Mode) string {
	switch mode {
	case probes.ModeV2Injected:
		return docV2Injection
	case probes.ModeV2Integrated:
		return docV2Integration
	}
	return docInjection
}

// wantDelegation is the delegation the mode needs ("" for none).
func wantDelegation(mode probes.Mode) string {
	switch mode {
	case probes.ModeV2Injected:
		return "Microsoft.Web/hostingEnvironments"
	case probes.ModeV2Integrated:
		return "Microsoft.Web/serverFarms"
	}
	return ""
}

// predeployChecks builds subnet.permissions, subnet.provider, subnet.free
// and subnet.region.
func predeployChecks(src snapshot.Source, opts Config) []probes.Check {
	mode := opts.Mode
	doc := predeploySource(mode)
	var out []probes.Check
	add := func(c probes.Check, applies bool, naWhy string, run func(*snapshot.Snapshot) probes.Result) {
		c.Category = "Subnet"
		c.Facets = probes.Facets{Area: probes.AreaSubnet, Role: probes.RolePreDeploy}
		out = append(out, analysisCheck(src, c, applies, naWhy, run))
	}

	// Join concerns the identity that deploys or updates the instance
	// (azure-facts §12.6), never the one that diagnoses it.
	add(probes.Check{ID: "subnet.permissions", Title: "Permissions to deploy into the subnet", Required: true,
		Target: probes.Subject("the identity's actions on the subnet"), Source: doc,
		Why: "whoever deploys the instance needs Microsoft.Network/virtualNetworks/read, …/subnets/read and …/subnets/join/action on its subnet, or the deployment is refused"},
		opts.Phase != probes.DeployPost, "after deployment joining the subnet is the concern of whoever updates the instance, not of a diagnosis (which needs only reads)",
		func(s *snapshot.Snapshot) probes.Result { return permissionsResult(s, opts) })

	add(probes.Check{ID: "subnet.provider", Title: "Microsoft.Web resource provider registered", Required: true,
		Target: probes.Subject("resource provider Microsoft.Web in the subnet's subscription"), Source: docV2Provider,
		Why: "the v2 tiers place the instance in the subnet through Microsoft.Web's delegation, which needs the provider registered in the subscription"},
		!mode.Classic(), "the classic tiers do not use the Microsoft.Web resource provider",
		func(s *snapshot.Snapshot) probes.Result { return providerResult(s, opts) })

	add(probes.Check{ID: "subnet.free", Title: "Subnet free for the instance", Required: true,
		Target: probes.Subject("what already uses the subnet"), Source: doc,
		Why: freeWhy(mode)},
		true, "", func(s *snapshot.Snapshot) probes.Result { return freeResult(s, opts) })

	add(probes.Check{ID: "subnet.region", Title: "Virtual network in the instance's region and subscription", Required: true,
		Target: probes.Subject("the virtual network's region and subscription"), Source: doc,
		Why: "an instance can only be placed in a virtual network of its own region and subscription"},
		true, "", func(s *snapshot.Snapshot) probes.Result { return regionResult(s, opts) })
	return out
}

func freeWhy(mode probes.Mode) string {
	if mode.Classic() {
		return "a classic instance's subnet may hold other resources but no delegation"
	}
	return "a v2 subnet can be used by a single API Management instance and nothing else: no network interfaces, no other service's association or delegation"
}

// predeploySkip is the skip of a check whose read did not succeed: the
// read's own skip when it was made, else the subnet's (unknown before
// deployment, or Resource Manager not used), with the az command for this
// check.
func predeploySkip(s *snapshot.Snapshot, lookFor, name, cli, perm string) *probes.Result {
	if r := s.Read(name); r != nil {
		return unavailable(s, lookFor, name)
	}
	if !s.Enabled || s.TokenError != "" || s.Read(snapshot.ReadSubnet) == nil {
		msg := nonEmpty(s.Why, "Resource Manager was not read")
		res := probes.Skipf(probes.ReasonNotObservable, msg, fmt.Sprintf("Run `%s` and check %s (or give apimprobe Resource Manager access: Reader and %s).", cli, lookFor, perm))
		res.Evidence = map[string]any{"arm_read": name, "permission": perm}
		res.NeedsARM = s.Need(msg, perm, cli)
		return &res
	}
	if r := unavailable(s, lookFor, snapshot.ReadSubnet); r != nil {
		return r
	}
	res := probes.Skipf(probes.ReasonNotObservable, "the "+snapshot.ReadTitle(name)+" read was not made", fmt.Sprintf("Run `%s` and check %s.", cli, lookFor))
	return &res
}

// subnetIDFor is the judged subnet's id, as far as it is known.
func subnetIDFor(s *snapshot.Snapshot, o Config) string {
	if s.Subnet != nil {
		return s.Subnet.ID
	}
	if o.APIMSubnet != "" && !o.Mode.Classic() {
		return o.APIMSubnet
	}
	return ""
}

// whose says whose permissions the Permissions API answered for.
func whose(cred string) string {
	switch cred {
	case probes.CredManagedIdentity:
		return "this VM's managed identity"
	case probes.CredAzureCLI:
		return "the identity signed in to the Azure CLI"
	case probes.CredDefault:
		return "the identity of the default credential chain"
	}
	return "the identity in use"
}

func permissionsResult(s *snapshot.Snapshot, o Config) probes.Result {
	id := subnetIDFor(s, o)
	lookFor := "that the deploying identity holds " + strings.Join(snapshot.SubnetActions, ", ") + " (actions minus notActions of one role)"
	if s.Predeploy == nil || !s.Read(snapshot.ReadPermissions).OK() {
		return *predeploySkip(s, lookFor, snapshot.ReadPermissions, snapshot.PermissionsCLI(id), "Microsoft.Authorization/permissions/read")
	}
	v := s.Predeploy
	who := whose(s.Credential)
	var missing []string
	granted := map[string]string{}
	for _, a := range snapshot.SubnetActions {
		if by := GrantedBy(v.Permissions, a); by != "" {
			granted[a] = by
		} else {
			missing = append(missing, a)
		}
	}
	ev := map[string]any{"scope": v.PermissionsScope, "credential": s.Credential, "granted": granted, "missing": missing, "roles_at_scope": len(v.Permissions)}
	name := snapshot.ShortID(v.PermissionsScope)
	if len(missing) == 0 {
		msg := fmt.Sprintf("%s holds %s on subnet %s", who, strings.Join(snapshot.SubnetActions, ", "), name)
		if s.Credential == probes.CredManagedIdentity {
			msg += "; these are the VM's permissions, not necessarily those of the person or pipeline that will deploy (run with --arm-credential azure-cli as them to check theirs)"
		}
		res := probes.Passf(msg)
		res.Evidence = ev
		return res
	}
	msg := fmt.Sprintf("%s lacks %s on subnet %s (checked with the Permissions API: each role's actions minus its notActions)", who, strings.Join(missing, ", "), name)
	fix := fmt.Sprintf("give whoever deploys a role with %s on the subnet (Network Contributor has them), e.g. `az role assignment create --assignee PRINCIPAL --role \"Network Contributor\" --scope %s`", strings.Join(missing, ", "), nonEmpty(v.PermissionsScope, "SUBNET_ID"))
	if s.Credential == probes.CredManagedIdentity {
		res := probes.Warnf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, msg+"; these are the VM's permissions, not the deploying person's")
		res.Hint = "Run apimprobe again with --arm-credential azure-cli, signed in (az login) as the person or pipeline identity that will deploy, to check their permissions; if they lack them too, " + fix + "."
		res.Evidence = ev
		return res
	}
	res := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, msg)
	res.Hint = capitalize(fix) + "."
	res.Evidence = ev
	return res
}

func providerResult(s *snapshot.Snapshot, o Config) probes.Result {
	sub := snapshot.SubscriptionOf(subnetIDFor(s, o))
	lookFor := "that registrationState is Registered"
	if s.Predeploy == nil || !s.Read(snapshot.ReadProvider).OK() {
		return *predeploySkip(s, lookFor, snapshot.ReadProvider, snapshot.ProviderCLI(sub), "Microsoft.Resources/subscriptions/providers/read")
	}
	v := s.Predeploy
	ev := map[string]any{"subscription": v.ProviderSubscription, "registration_state": v.ProviderState}
	register := "az provider register --namespace Microsoft.Web --subscription " + v.ProviderSubscription
	switch strings.ToLower(v.ProviderState) {
	case "registered":
		res := probes.Passf("resource provider Microsoft.Web is registered in subscription " + v.ProviderSubscription)
		res.Evidence = ev
		return res
	case "registering":
		res := probes.Warnf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, "resource provider Microsoft.Web is still registering in subscription "+v.ProviderSubscription)
		res.Hint = "Wait until `" + snapshot.ProviderCLI(v.ProviderSubscription) + "` says Registered (a few minutes) before deploying."
		res.Evidence = ev
		return res
	}
	res := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, fmt.Sprintf("resource provider Microsoft.Web is %s in subscription %s; a v2 instance cannot be placed in the subnet", bounded.Line(v.ProviderState), v.ProviderSubscription))
	res.Hint = "Register it: `" + register + "` (needs Microsoft.Web/register/action, e.g. Contributor on the subscription), and wait until it says Registered."
	res.Evidence = ev
	return res
}

// instanceHere: the instance exists (not before deployment) and lives in
// the judged subnet, so what it put there is expected.
func instanceHere(s *snapshot.Snapshot, o Config) bool {
	return o.Phase != probes.DeployPre && s.APIM != nil && s.Subnet != nil && strings.EqualFold(s.APIM.SubnetID, s.Subnet.ID)
}

func freeResult(s *snapshot.Snapshot, o Config) probes.Result {
	lookFor := "its delegations, service association links and ipConfigurations"
	if !s.Read(snapshot.ReadSubnet).OK() {
		return *predeploySkip(s, lookFor, snapshot.ReadSubnet, subnetCLI(subnetIDFor(s, o)), "Microsoft.Network/virtualNetworks/subnets/read")
	}
	sn := s.Subnet
	occ := sn.Occupants
	ev := map[string]any{"subnet_id": sn.ID, "delegations": sn.Delegations, "nics": occ.NICs, "other_ip_configurations": len(occ.OtherIPConfigs),
		"service_association_links": occ.ServiceAssociations, "resource_navigation_links": occ.NavigationLinks, "private_endpoints": occ.PrivateEndpoints}
	var problems, fixes []string
	want := wantDelegation(o.Mode)
	var other []string
	for _, d := range sn.Delegations {
		if !strings.EqualFold(d, want) {
			other = append(other, d)
		}
	}
	if o.Mode.Classic() {
		if len(other) > 0 {
			problems = append(problems, "it is delegated to "+strings.Join(other, ", ")+", and a classic instance's subnet must have no delegation")
			fixes = append(fixes, "remove the delegation (`az network vnet subnet update --ids "+sn.ID+" --remove delegations`) or use another subnet")
		}
		return freeVerdict(s, o, ev, problems, fixes, "no delegation (a classic subnet may hold other resources)")
	}
	here := instanceHere(s, o)
	ev["instance_in_subnet"] = here
	if len(other) > 0 {
		problems = append(problems, "it is delegated to "+strings.Join(other, ", "))
	}
	if n := len(occ.NICs); n > 0 {
		problems = append(problems, fmt.Sprintf("it holds %d network interface%s (%s)", n, plural(n), strings.Join(firstN(occ.NICs, 5), ", ")))
	}
	if n := len(occ.OtherIPConfigs); n > 0 && !here {
		problems = append(problems, fmt.Sprintf("it holds %d other IP configuration%s", n, plural(n)))
	}
	if occ.PrivateEndpoints > 0 {
		problems = append(problems, fmt.Sprintf("it holds %d private endpoint%s", occ.PrivateEndpoints, plural(occ.PrivateEndpoints)))
	}
	var links []string
	for _, l := range append(append([]string{}, occ.ServiceAssociations...), occ.NavigationLinks...) {
		// Once deployed, the instance's own link (Microsoft.Web or
		// Microsoft.ApiManagement) is expected.
		if here && (hasPrefixFold(l, "Microsoft.Web/") || hasPrefixFold(l, "Microsoft.ApiManagement/")) {
			continue
		}
		links = append(links, l)
	}
	if len(links) > 0 {
		problems = append(problems, "another service holds it ("+strings.Join(links, ", ")+")")
	}
	if len(problems) > 0 {
		fixes = append(fixes, "use an empty subnet dedicated to the instance (delegated to "+want+" only), or move what is in it elsewhere")
	}
	okMsg := "nothing else in it"
	if here {
		okMsg = "nothing in it but the instance"
	}
	return freeVerdict(s, o, ev, problems, fixes, okMsg)
}

func freeVerdict(s *snapshot.Snapshot, o Config, ev map[string]any, problems, fixes []string, okMsg string) probes.Result {
	name := s.Subnet.Name
	if len(problems) > 0 {
		res := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, fmt.Sprintf("subnet %s is not free for mode %s: %s", name, o.Mode, strings.Join(problems, "; ")))
		res.Hint = capitalize(strings.Join(fixes, ", and ")) + "."
		res.Evidence = ev
		return res
	}
	res := probes.Passf(fmt.Sprintf("subnet %s is free for mode %s: %s", name, o.Mode, okMsg))
	res.Evidence = ev
	return res
}

// normRegion folds "West Europe" and "westeurope" together.
func normRegion(r string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(r), " ", ""))
}

func regionResult(s *snapshot.Snapshot, o Config) probes.Result {
	lookFor := "that the virtual network's location is the instance's region and its subscription the instance's"
	if !s.Read(snapshot.ReadSubnet).OK() {
		return *predeploySkip(s, lookFor, snapshot.ReadSubnet, vnetCLI(subnetIDFor(s, o)), "Microsoft.Network/virtualNetworks/read")
	}
	c := s.Configured
	if c == nil || c.VNetLocation == "" {
		if r := unavailable(s, lookFor, snapshot.ReadVNet); r != nil {
			return *r
		}
		return probes.Skipf(probes.ReasonNoData, "the virtual network's location is unknown (its read named none)",
			"Run `az network vnet show --ids VNET --query location` and compare it with the instance's region.")
	}
	vnetSub := snapshot.SubscriptionOf(s.Subnet.ID)
	ev := map[string]any{"vnet": c.VNetID, "vnet_location": c.VNetLocation, "vnet_subscription": vnetSub}
	region, from, instSub := "", "", ""
	switch {
	case o.Phase != probes.DeployPre && s.APIM != nil && s.APIM.Location != "":
		region, from, instSub = s.APIM.Location, "the instance's location", snapshot.SubscriptionOf(s.APIM.ID)
		if s.JudgedLocation != "" && snapshot.RegionName(s.JudgedLocation) != snapshot.RegionName(s.APIM.Location) {
			// A multi-region instance: the judged subnet is this
			// location's (§12.7).
			region, from = s.JudgedLocation, "the location of the instance whose subnet is judged"
		}
	case o.Region != "":
		region, from = o.Region, "--region"
	}
	vnet := snapshot.ShortID(c.VNetID)
	if region == "" {
		res := probes.Skipf(probes.ReasonNoData, fmt.Sprintf("virtual network %s is in %s, subscription %s; the instance's region is unknown before deployment", vnet, c.VNetLocation, vnetSub),
			"Pass --region with the region the instance will be created in; it must be "+c.VNetLocation+", in subscription "+vnetSub+".")
		res.Evidence = ev
		return res
	}
	ev["instance_region"], ev["instance_region_from"] = region, from
	var problems []string
	if normRegion(region) != normRegion(c.VNetLocation) {
		problems = append(problems, fmt.Sprintf("virtual network %s is in %s but the instance's region (%s) is %s", vnet, c.VNetLocation, from, region))
	}
	if instSub != "" {
		ev["instance_subscription"] = instSub
		if !strings.EqualFold(instSub, vnetSub) {
			problems = append(problems, fmt.Sprintf("virtual network %s is in subscription %s but the instance is in %s", vnet, vnetSub, instSub))
		}
	}
	if len(problems) > 0 {
		res := probes.Failf(probes.ReasonSubnetConfig, probes.PhaseAnalysis, strings.Join(problems, "; "))
		res.Hint = fmt.Sprintf("Create the instance in %s, subscription %s, or use a virtual network of the instance's region and subscription.", c.VNetLocation, vnetSub)
		res.Evidence = ev
		return res
	}
	msg := fmt.Sprintf("virtual network %s is in %s, the instance's region (%s)", vnet, c.VNetLocation, from)
	if instSub != "" {
		msg += ", and in its subscription " + vnetSub
	} else {
		msg += "; create the instance in its subscription " + vnetSub
	}
	res := probes.Passf(msg)
	res.Evidence = ev
	return res
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func firstN(ss []string, n int) []string {
	out := append([]string{}, ss...)
	sort.Strings(out)
	if len(out) > n {
		out = append(out[:n], fmt.Sprintf("and %d more", len(ss)-n))
	}
	return out
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
