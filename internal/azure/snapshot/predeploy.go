package snapshot

// Read names of the pre-deployment reads (Snapshot.Reads keys).
const (
	ReadPermissions = "permissions"
	ReadProvider    = "provider"
)

// SubnetActions are the actions whoever deploys needs on the subnet.
var SubnetActions = []string{
	"Microsoft.Network/virtualNetworks/read",
	"Microsoft.Network/virtualNetworks/subnets/read",
	"Microsoft.Network/virtualNetworks/subnets/join/action",
}

// PredeployView is what the permission and provider reads found.
type PredeployView struct {
	// Permissions are the caller's permissions at PermissionsScope (the
	// subnet), one entry per role it holds there.
	PermissionsScope string
	Permissions      []Permission
	// ProviderSubscription is where Microsoft.Web's registration was read
	// (the subnet's subscription, which must be the instance's), and
	// ProviderState its registrationState.
	ProviderSubscription string
	ProviderState        string
}

// Occupants is what already uses a subnet.
type Occupants struct {
	// NICs are the network interfaces (names) with an IP configuration in
	// the subnet; OtherIPConfigs the IP configurations of anything else.
	NICs           []string
	OtherIPConfigs []string
	// ServiceAssociations and NavigationLinks are the linked resource types
	// of the subnet's service association and resource navigation links:
	// a service that holds the subnet.
	ServiceAssociations []string
	NavigationLinks     []string
	PrivateEndpoints    int
}

// Permission is one entry of the Permissions API's answer
// (GET {scope}/providers/Microsoft.Authorization/permissions): the
// permissions of one role the caller holds at the scope.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleActions is every Resource Manager action apimprobe uses: the reads of
// this VM, its network and the instance, the two effective views (which
// Reader lacks, azure-facts §12.6) and the Permissions API. A custom role
// proposed in a fix holds all of them, so that granting it once is enough.
var RoleActions = []string{
	"Microsoft.Compute/virtualMachines/read",
	"Microsoft.Network/networkInterfaces/read",
	ScaleSetVMPermission, ScaleSetNICPermission, // a Uniform scale set's VM and NIC
	"Microsoft.Network/networkInterfaces/effectiveRouteTable/action",
	"Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action",
	"Microsoft.Network/virtualNetworks/read",
	"Microsoft.Network/virtualNetworks/subnets/read",
	"Microsoft.Network/networkSecurityGroups/read",
	"Microsoft.Network/routeTables/read",
	"Microsoft.Network/locations/serviceTags/read",
	"Microsoft.ApiManagement/service/read",
	"Microsoft.ApiManagement/service/networkstatus/read",
	"Microsoft.ApiManagement/service/outboundNetworkDependenciesEndpoints/read",
	"Microsoft.Authorization/permissions/read",
	"Microsoft.Resources/subscriptions/providers/read",
}
