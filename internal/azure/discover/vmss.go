package discover

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// A Uniform scale set's VMs are children of the scale set, and so are
// their NICs: …/Microsoft.Compute/virtualMachineScaleSets/{vmss}/
// virtualMachines/{i}/networkInterfaces/{nic}, where the plain
// Microsoft.Network/networkInterfaces/{nic} path answers 404 (azure-facts
// §12.10). Resource Manager reads such a NIC (GET, api-version 2018-10-01,
// the only one the Network specs give that path) but offers no
// effectiveRouteTable or effectiveNetworkSecurityGroups operation under it:
// the specs (and armnetwork, generated from them) have none. The actions
// these reads need are snapshot.ScaleSetVMPermission and
// ScaleSetNICPermission.
//
// scaleSetVMTypes and scaleSetNICTypes are the resource types' names under
// Microsoft.Compute.
var (
	scaleSetVMTypes  = []string{"virtualMachineScaleSets", "virtualMachines"}
	scaleSetNICTypes = []string{"virtualMachineScaleSets", "virtualMachines", "networkInterfaces"}
)

// scaleSetPath is where a resource id names a Uniform scale set's VM or
// NIC: the scale set, the instance id and the resource group (ARM ids come
// in any letter case).
type scaleSetPath struct {
	rg, vmss, instance string
}

// parseScaleSet reads id as a resource of the given types under
// Microsoft.Compute; ok is false for anything else.
func parseScaleSet(id string, types []string) (rid *arm.ResourceID, p scaleSetPath, ok bool) {
	rid, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(rid.ResourceType.Namespace, "Microsoft.Compute") ||
		len(rid.ResourceType.Types) != len(types) {
		return nil, p, false
	}
	for i, t := range types {
		if !strings.EqualFold(rid.ResourceType.Types[i], t) {
			return nil, p, false
		}
	}
	vm := rid
	if len(types) == 3 {
		vm = rid.Parent
	}
	if vm == nil || vm.Parent == nil || vm.Name == "" || vm.Parent.Name == "" {
		return nil, p, false
	}
	return rid, scaleSetPath{rg: rid.ResourceGroupName, vmss: vm.Parent.Name, instance: vm.Name}, true
}

// scaleSetVM says whether a VM's resource id is a Uniform scale set's VM.
func scaleSetVM(id string) (scaleSetPath, bool) {
	_, p, ok := parseScaleSet(id, scaleSetVMTypes)
	return p, ok
}

// scaleSetNIC says whether a NIC id is a Uniform scale set VM's NIC.
func scaleSetNIC(id string) (scaleSetPath, bool) {
	_, p, ok := parseScaleSet(id, scaleSetNICTypes)
	return p, ok
}

// noEffectiveViewForScaleSet is why the effective views of a scale set
// VM's NIC are not asked for.
const noEffectiveViewForScaleSet = "not made: Resource Manager offers no effective routes or effective NSGs for a scale set VM's NIC " +
	"(…/virtualMachineScaleSets/{vmss}/virtualMachines/{i}/networkInterfaces/{nic} has no effectiveRouteTable or effectiveNetworkSecurityGroups operation)"

// scaleSetCLINote ends the az command of an effective view that this VM's
// NIC does not have: a standalone VM's NIC in the same subnet has it.
const scaleSetCLINote = "  # NIC: a standalone VM's NIC in the same subnet; a scale set VM's NIC has no effective view"
