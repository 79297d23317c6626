// Package snapshot is what was read about this VM's network and the API
// Management instance, as plain data: the effective view, the configured
// view, the instance's own word (NetworkStatus, its dependency list, its
// backends), and every read with how it went — its permission, its az
// command, and why it was not read when it was not. It imports no client:
// the reads fill it (discover), the judgements read it (judge).
package snapshot

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/nsg"
	"github.com/apimprobe/apimprobe/internal/azure/routes"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/probes"
)

// Read names (Snapshot.Reads keys).
const (
	ReadVM              = "vm"
	ReadNIC             = "nic"
	ReadEffectiveRoutes = "effective-routes"
	ReadEffectiveNSGs   = "effective-nsgs"
	ReadSubnet          = "subnet"
	ReadSubnetNSG       = "subnet-nsg"
	ReadRouteTable      = "route-table"
	ReadVNet            = "vnet"
	ReadNICNSG          = "nic-nsg"
	ReadAPIM            = "apim"
	ReadServiceTags     = "service-tags"
)

// Read outcomes.
const (
	ReadOK     = "ok"
	ReadDenied = "denied" // 403: the identity lacks the permission
	// ReadRejected: 401, Resource Manager refused the token itself (another
	// tenant's, another audience's, expired): no role fixes it.
	ReadRejected  = "rejected"
	ReadThrottled = "throttled" // 429
	ReadNotFound  = "not-found"
	ReadTimeout   = "timeout" // the run's deadline came first
	ReadMalformed = "malformed"
	ReadFailed    = "failed"
	ReadNotTried  = "not-tried" // an earlier read it depends on failed, or no token
	// ReadUnreachable: no HTTP answer came (DNS, TCP or TLS failed on the
	// way to Resource Manager); a read not made because one it depends on
	// was unreachable is unreachable too, for the same reason.
	ReadUnreachable = "unreachable"
)

// Read records one ARM read: what it needed and how it went.
type Read struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// HTTPStatus is the answer's status code, 0 when none came.
	HTTPStatus int    `json:"http_status,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"`
	// Permission is the RBAC action the read needs.
	Permission string `json:"permission"`
	// CLI is the az command a person can run to see the same thing.
	CLI        string `json:"cli"`
	Message    string `json:"message,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	// Fix is what makes Resource Manager take the token, for a rejected
	// read (the subscription's tenant, the cloud's audience, a fresh
	// sign-in).
	Fix string `json:"fix,omitempty"`
	// NoAnswer is what an unreachable read (or the read it needed) got
	// instead of an answer: "no answer from Resource Manager (nxdomain): …".
	NoAnswer string        `json:"-"`
	Duration time.Duration `json:"-"`
}

// need is what a skip lacked from Resource Manager: why, the permission
// and the az command, and whether Resource Manager was used at all.
func (s *Snapshot) Need(why, perm, cli string) *probes.ARMNeed {
	n := &probes.ARMNeed{Why: why, Permission: perm, Command: cli, Disabled: !s.Enabled || s.TokenError != "", NoToken: s.NoToken(),
		RoleActions: RoleActions}
	if r := s.Rejected(); r != nil {
		n.Rejected, n.TokenFix = cmp.Or(r.ErrorCode, "HTTP 401"), r.Fix
	}
	return n
}

// rejected is the first read whose token Resource Manager refused (401),
// nil when none was: one refusal explains every read the run could not make.
func (s *Snapshot) Rejected() *Read {
	for _, name := range slices.Sorted(maps.Keys(s.Reads)) {
		if r := s.Reads[name]; r != nil && r.Status == ReadRejected {
			return r
		}
	}
	return nil
}

// endpoint is Resource Manager's host and port in words, for a read that
// got no answer.
func (s *Snapshot) EndpointWords() string { return cmp.Or(s.Endpoint, "its endpoint") }

// noToken names the credential that gave no token, "" when one was had or
// none was asked.
func (s *Snapshot) NoToken() string {
	if s == nil || s.TokenError == "" {
		return ""
	}
	return cmp.Or(s.Credential, probes.CredManagedIdentity)
}

// OK reports whether the read succeeded.
func (r *Read) OK() bool { return r != nil && r.Status == ReadOK }

// SubnetInfo is what the subnet read found.
type SubnetInfo struct {
	ID               string
	Name             string
	Prefixes         []netip.Prefix
	Delegations      []string // service names, e.g. Microsoft.Web/serverFarms
	NSGID            string
	RouteTableID     string
	ServiceEndpoints []string
	// IPConfigurations counts addresses already taken in the subnet.
	IPConfigurations int
	// Occupants is what already uses the subnet (predeploy.go).
	Occupants Occupants
}

// APIMInfo is what the API Management read found.
type APIMInfo struct {
	ID, Name, Location string
	PrivateIPs         []string
	PublicIPs          []string
	HostNames          []string
	VNetType           string // None, External, Internal
	SubnetID           string
	SKU                string
	Capacity           int
	// Platform is the compute platform version (stv2, stv2.1, …).
	Platform string
	// AdditionalLocations are the regions of a multi-region instance
	// besides Location.
	AdditionalLocations []string
	// AdditionalSubnets are the subnets of the additional locations that
	// name one (virtualNetworkConfiguration per location, §12.7).
	AdditionalSubnets []LocationSubnet
}

// LocationSubnet is one location of the instance and its subnet.
type LocationSubnet struct{ Location, SubnetID string }

// Subnets are the instance's subnets, the primary location's first.
func (a *APIMInfo) Subnets() []LocationSubnet {
	if a == nil {
		return nil
	}
	var out []LocationSubnet
	if a.SubnetID != "" {
		out = append(out, LocationSubnet{Location: a.Location, SubnetID: a.SubnetID})
	}
	return append(out, a.AdditionalSubnets...)
}

// Snapshot is everything Resource Manager told, and what it refused.
type Snapshot struct {
	// Enabled: ARM reads were attempted (not --no-arm, a VM identity known).
	Enabled bool
	// Why explains a disabled snapshot or a missing token, for skip messages.
	Why string
	// Credential names the identity that was used (managed-identity,
	// azure-cli, default).
	Credential string
	TokenError string
	Reads      map[string]*Read
	// Endpoint is Resource Manager's host and port in words
	// ("management.azure.com on TCP 443"), once known.
	Endpoint string

	// Region and SubnetPrefix are the context's (flag or IMDS), so the
	// analyses need nothing else.
	Region       string
	SubnetPrefix string

	ResourceGroup string // of the NIC, for az commands
	NICName       string
	NICID         string
	NICPrivateIP  string
	// JumpboxSubnetID is this VM's subnet (from its NIC) and NICNSGID the
	// NSG on its NIC ("" when none).
	JumpboxSubnetID string
	NICNSGID        string
	Routes          []routes.Route
	NSGs            []nsg.Group
	// Subnet is the subnet that is judged: this VM's in the classic modes,
	// the instance's in the v2 modes (InstanceSubnet true), where this VM
	// cannot be inside it.
	Subnet         *SubnetInfo
	InstanceSubnet bool
	// JudgedLocation is the instance's location whose subnet is judged
	// ("" when unknown): regional service tags are that location's and
	// the primary's (§11.6).
	JudgedLocation string
	// instanceSubnetUnknown: a v2 mode, and neither --apim-subnet nor the
	// instance named its subnet.
	InstanceSubnetUnknown bool
	// v2: the snapshot was read for a v2 mode.
	V2 bool
	// Configured is the view from plain GETs of the judged subnet's NSG,
	// route table and virtual network, and of the NIC's NSG.
	Configured *ConfiguredView
	APIM       *APIMInfo
	// NetworkStatus and Dependencies are the instance's own view
	// (instance.go; instanceview's networkstatus.go reads it): what Azure's
	// probes from the instance's machines saw, per location, and the hosts
	// it lists as its dependencies.
	NetworkStatus []LocationStatus
	Dependencies  []Dependency
	// DependenciesCut is what of the dependency list was left out.
	DependenciesCut DepsCut
	// BackendURLs are the URLs the instance's backends and APIs name
	// (instanceview's backends.go).
	BackendURLs []BackendURL
	ServiceTags *servicetags.Set
	Duration    time.Duration

	// Predeploy is what the permission and provider reads found
	// (discover's predeployreads.go); nil before they finish.
	Predeploy *PredeployView
}

// Read returns the named read, or nil.
func (s *Snapshot) Read(name string) *Read {
	if s == nil {
		return nil
	}
	return s.Reads[name]
}

// Denied lists the reads that were refused for lack of a permission, sorted
// by name, for the report's context and the logs.
func (s *Snapshot) Denied() []Read {
	if s == nil {
		return nil
	}
	var out []Read
	for _, r := range s.Reads {
		if r.Status == ReadDenied {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SubnetGroups returns the effective NSGs associated with the subnet and
// the security admin rules of network managers (they apply to the whole
// virtual network) — the ones that also apply to API Management's machines
// (this VM's NIC-level NSG does not).
func (s *Snapshot) SubnetGroups() []nsg.Group {
	var out []nsg.Group
	for _, g := range s.NSGs {
		if g.Scope == "subnet" || g.IsAdmin() {
			out = append(out, g)
		}
	}
	return out
}

// judgesOtherSubnet: a v2 mode, where the judged subnet is the instance's
// and this VM's effective views do not describe it.
func (s *Snapshot) JudgesOtherSubnet() bool { return s.V2 || s.InstanceSubnet }
