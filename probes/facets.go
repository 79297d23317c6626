package probes

// A check's facets are the typed properties that the diagnosis, the
// headline, the plan and the outputs select on. They are set where a check
// is built (internal/catalog, resolver, internal/azure, probes/egress,
// probes/pathtrace, internal/run), so that no logic reads meaning out of a
// check's id: the id is for people and for history.

// Area is the part of the network a check is about: the first word of its
// id (SPEC's areas).
type Area string

const (
	AreaOutbound Area = "outbound" // a dependency reached from the subnet
	AreaInbound  Area = "inbound"  // the instance's own endpoints, reached from the subnet
	AreaDNS      Area = "dns"      // names as the VNet's DNS servers and Azure DNS answer them
	AreaRoute    Area = "route"    // routes, paths and where traffic leaves
	AreaSubnet   Area = "subnet"   // the subnet's NSG, delegation and readiness
	AreaTLS      Area = "tls"      // what the TLS handshakes showed, over all checks
	AreaInstance Area = "instance" // the instance's own view of its dependencies
	AreaBackend  Area = "backend"  // the user's own backends, reached from here
)

// Areas lists the areas in SPEC's order.
func Areas() []Area {
	return []Area{AreaOutbound, AreaInbound, AreaDNS, AreaRoute, AreaSubnet, AreaTLS, AreaInstance, AreaBackend}
}

// Role singles out what a check does within its area, for the checks a
// correlation reads beside the others. A dependency probed has none.
type Role string

const (
	RoleNone             Role = ""
	RoleName             Role = "name"              // dns: one of the instance's host names
	RoleZoneScope        Role = "zone-scope"        // dns: no private zone swallows the APIM domain
	RoleEgressEcho       Role = "egress-echo"       // route: the address internet-bound traffic leaves from
	RolePathTrace        Role = "path-trace"        // route: the hops toward one dependency family
	RoleDefaultRoute     Role = "default-route"     // route: where 0.0.0.0/0 goes
	RoleManagementReturn Role = "management-return" // route: the return path of management traffic
	RoleDependencyRoute  Role = "dependency-route"  // route: the next hop toward one dependency's service tag
	RoleNSGFlow          Role = "nsg-flow"          // subnet: one flow judged against the NSGs
	RoleSubnetConfig     Role = "subnet-config"     // subnet: delegation, NSG and size
	RolePreDeploy        Role = "pre-deploy"        // subnet: what deploying into it needs (permissions, provider, room, region)
	RoleInterception     Role = "interception"      // tls: the summary of every handshake's certificate
	RoleInstanceStatus   Role = "instance-status"   // instance: a summary of its NetworkStatus
	RoleInstanceMode     Role = "instance-mode"     // instance: its network mode against the mode judged by
	RoleInstanceDeps     Role = "instance-deps"     // instance: its dependency list, probed from here
	RoleInstanceProbe    Role = "instance-probe"    // instance: its own probe of each destination (ConnectivityCheck)
	RoleBackendDiscovery Role = "backend-discovery" // backend: the instance's backends, read and probed from here
)

// Dependency is the family of Azure dependencies a check concerns: the
// outbound checks of one family share a service, often a service tag and
// a route, and their route and path checks carry the same word.
type Dependency string

const (
	DepNone          Dependency = ""
	DepStorage       Dependency = "storage"
	DepSQL           Dependency = "sql"
	DepKeyVault      Dependency = "keyvault"
	DepEventHub      Dependency = "eventhub"
	DepMonitor       Dependency = "monitor"
	DepEntra         Dependency = "entra"
	DepGraph         Dependency = "graph"
	DepCerts         Dependency = "certs"
	DepInfra         Dependency = "infra"
	DepKMS           Dependency = "kms"
	DepCaptcha       Dependency = "captcha"
	DepPortalDiag    Dependency = "portal-diagnostics"
	DepSMTP          Dependency = "smtp"
	DepAPIManagement Dependency = "apimanagement" // the instance itself: its names and endpoints
)

// Protocol is the transport a check's traffic uses.
type Protocol string

const (
	ProtoNone Protocol = ""
	ProtoTCP  Protocol = "tcp"
	ProtoUDP  Protocol = "udp"
)

// Facets are a check's typed properties (see the file comment). The port
// facet is Target.Port.
type Facets struct {
	Area Area
	Role Role
	// Dependency is the family of the dependency concerned; DepNone for
	// checks about no one dependency.
	Dependency Dependency
	// ServiceTag is the NSG/UDR service tag that covers the target
	// ("Storage", "Sql", "Internet"), for the analyses that group the
	// dependencies one rule or route decides; empty where none applies.
	ServiceTag string
	// Protocol is the transport of the traffic the check sends or judges.
	Protocol Protocol
	// Phase is the deployment phase the check belongs to: DeployPost for
	// what exists only once the instance does, DeployPre for readiness to
	// deploy, "" for both.
	Phase DeployPhase
	// ResourceType is the instance's counterpart: the word APIM's
	// NetworkStatus API uses for the same dependency, so a report lines up
	// with the portal.
	ResourceType string
}

// ProtocolOf is the transport a probe of kind k uses.
func ProtocolOf(k Kind) Protocol { return k.Spec().Protocol }
