package snapshot

import (
	"cmp"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// What each read needs and shows: its permission, the az command that
// shows the same thing, and its title for people. The judgements name them
// for reads that were never made.

// The actions that read a Uniform scale set's VM and its NIC at the scale
// set's paths (azure-facts §12.10), in place of ReadVM's and ReadNIC's.
const (
	ScaleSetVMPermission  = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read"
	ScaleSetNICPermission = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces/read"
)

// NewRead fills the permission and the equivalent az command.
func NewRead(name, rg, nic, vmID, location string) *Read {
	r := &Read{Name: name}
	if rg == "" {
		rg = "RG"
	}
	switch name {
	case ReadVM:
		r.Permission, r.CLI = "Microsoft.Compute/virtualMachines/read", "az vm show --ids "+vmID
	case ReadNIC:
		r.Permission, r.CLI = "Microsoft.Network/networkInterfaces/read", "az network nic show -g "+rg+" -n "+nic
	case ReadEffectiveRoutes:
		r.Permission, r.CLI = "Microsoft.Network/networkInterfaces/effectiveRouteTable/action", "az network nic show-effective-route-table -g "+rg+" -n "+nic+" -o table"
	case ReadEffectiveNSGs:
		r.Permission, r.CLI = "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action", "az network nic list-effective-nsg -g "+rg+" -n "+nic
	case ReadSubnet:
		r.Permission, r.CLI = "Microsoft.Network/virtualNetworks/subnets/read", "az network vnet subnet show --ids $(az network nic show -g "+rg+" -n "+nic+" --query 'ipConfigurations[0].subnet.id' -o tsv)"
	case ReadSubnetNSG, ReadNICNSG:
		r.Permission, r.CLI = "Microsoft.Network/networkSecurityGroups/read", "az network nsg show --ids NSG"
	case ReadRouteTable:
		r.Permission, r.CLI = "Microsoft.Network/routeTables/read", "az network route-table show --ids ROUTE_TABLE"
	case ReadVNet:
		r.Permission, r.CLI = "Microsoft.Network/virtualNetworks/read", "az network vnet show --ids VNET"
	case ReadAPIM:
		r.Permission, r.CLI = "Microsoft.ApiManagement/service/read", "az apim list --query \"[?name=='NAME']\""
	case ReadServiceTags:
		loc := location
		if loc == "" {
			loc = "REGION"
		}
		r.Permission, r.CLI = "Microsoft.Network/locations/serviceTags/read", "az network list-service-tags --location "+loc
	}
	return r
}

// instanceReads are the reads of the instance's own resource tree: the
// action each needs and the path under the instance it asks.
var instanceReads = map[string]struct{ permission, path string }{
	ReadNetworkStatus: {"Microsoft.ApiManagement/service/networkstatus/read", "/networkstatus"},
	ReadDependencies:  {"Microsoft.ApiManagement/service/outboundNetworkDependenciesEndpoints/read", "/outboundNetworkDependenciesEndpoints"},
	ReadBackends:      {"Microsoft.ApiManagement/service/backends/read", "/backends"},
	ReadAPIs:          {"Microsoft.ApiManagement/service/apis/read", "/apis"},
}

// NewInstanceRead fills the permission and the equivalent az command of a
// read of the instance's own resource tree.
func NewInstanceRead(name, service, id string) *Read {
	if id == "" {
		id = "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/" + cmp.Or(service, "NAME")
	}
	r := &Read{Name: name}
	if ir, ok := instanceReads[name]; ok {
		r.Permission = ir.permission
		r.CLI = "az rest --method get --url " + id + ir.path + "?api-version=" + APIMAPIVersion
	}
	return r
}

// ReadTitle names a read for people: "effective routes".
func ReadTitle(name string) string {
	switch name {
	case ReadEffectiveRoutes:
		return "effective routes"
	case ReadEffectiveNSGs:
		return "effective NSGs"
	case ReadVM:
		return "the VM"
	case ReadNIC:
		return "its NIC"
	case ReadSubnet:
		return "the subnet"
	case ReadSubnetNSG:
		return "the subnet's NSG"
	case ReadNICNSG:
		return "the NIC's NSG"
	case ReadRouteTable:
		return "the route table"
	case ReadVNet:
		return "the virtual network"
	case ReadAPIM:
		return "the API Management instance"
	case ReadServiceTags:
		return "service tags"
	case ReadNetworkStatus:
		return "the instance's network status"
	case ReadDependencies:
		return "the instance's dependency list"
	case ReadBackends:
		return "the instance's backends"
	case ReadAPIs:
		return "the instance's APIs"
	}
	return predeployTitle(name)
}

func predeployTitle(name string) string {
	switch name {
	case ReadPermissions:
		return "the identity's permissions on the subnet"
	case ReadProvider:
		return "the Microsoft.Web provider's registration"
	}
	return name
}

func PermissionsCLI(subnetID string) string {
	return `az rest --method get --url "` + cmp.Or(subnetID, "SUBNET_ID") + `/providers/Microsoft.Authorization/permissions?api-version=` + AuthzAPIVersion + `"`
}

func ProviderCLI(sub string) string {
	return "az provider show --namespace Microsoft.Web --subscription " + cmp.Or(sub, "SUBSCRIPTION") + " --query registrationState -o tsv"
}

func SubscriptionOf(id string) string {
	if rid, err := azarm.ParseResourceID(id); err == nil {
		return rid.SubscriptionID
	}
	return ""
}

const (
	AuthzAPIVersion     = "2022-04-01"
	ProvidersAPIVersion = "2021-04-01"
)

// RegionName turns a location as Resource Manager shows it ("West
// Europe") into the name the API takes ("westeurope").
func RegionName(loc string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
}

// APIMAPIVersion is the API Management api-version the reads use, and so
// their az commands.
const APIMAPIVersion = "2024-05-01"

// ShortID is the last segment of a resource id: its name.
func ShortID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// NotMade records r as not made because dep, a read it needs, failed (why
// says so); when dep never reached Resource Manager, r is unreachable for
// the same reason.
func NotMade(r, dep *Read, why string) {
	r.Status, r.Message = ReadNotTried, why
	if dep != nil && dep.Status == ReadUnreachable {
		r.Status, r.Message, r.NoAnswer = ReadUnreachable, "not made: the "+dep.Name+" read "+dep.Message, dep.NoAnswer
	}
}
