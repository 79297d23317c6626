package main

// The jumpbox's own resources: its NIC (a plain VM's, or a Uniform scale
// set VM's at the scale set's path) and, for a scale set jumpbox, its VM.

// jumpNICID is the jumpbox NIC's resource id.
func jumpNICID(k knobs) string {
	if k.VMSSJumpbox {
		return vmssNICID
	}
	return nicID
}

// jumpNIC is the jumpbox's NIC as its GET returns it; a scale set VM's
// in the shape of the Network spec's VmssNetworkInterfaceGet example
// (api-version 2018-10-01), with the VM it belongs to. With knob
// nic_nsg_deny it carries NSG nsg-jump.
func jumpNIC(k knobs) map[string]any {
	id := jumpNICID(k)
	ipc := map[string]any{"privateIPAddress": jumpIP, "primary": true, "subnet": map[string]any{"id": snetID}}
	props := map[string]any{"ipConfigurations": []any{map[string]any{"name": "ipconfig1", "id": id + "/ipConfigurations/ipconfig1", "properties": ipc}}}
	if k.VMSSJumpbox {
		ipc["provisioningState"], ipc["privateIPAllocationMethod"], ipc["privateIPAddressVersion"] = "Succeeded", "Dynamic", "IPv4"
		props["provisioningState"] = "Succeeded"
		props["dnsSettings"] = map[string]any{"dnsServers": []string{}, "appliedDnsServers": []string{}}
		props["macAddress"] = "00-0D-3A-00-00-01"
		props["enableAcceleratedNetworking"], props["enableIPForwarding"], props["primary"] = false, false, true
		props["virtualMachine"] = map[string]any{"id": vmssVMID}
	}
	if k.NICNSGDeny != nil {
		props["networkSecurityGroup"] = map[string]any{"id": nsgJumpID}
	}
	return map[string]any{"id": id, "name": "jump-nic", "etag": `W/"00000000-0000-0000-0000-0000000000e1"`, "properties": props}
}

// vmssVM is instance 0 of the scale set jump-vmss as Compute's GET of a
// scale set VM returns it: its NIC under the scale set's path, and the
// scale set model's NIC configuration naming the subnet.
func vmssVM() map[string]any {
	return map[string]any{"name": "jump-vmss_0", "id": vmssVMID, "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
		"location": "westeurope", "instanceId": "0", "sku": map[string]any{"name": "Standard_B1s", "tier": "Standard"},
		"properties": map[string]any{
			"latestModelApplied": true, "modelDefinitionApplied": "VirtualMachineScaleSet", "vmId": "00000000-0000-0000-0000-0000000000aa",
			"networkProfile": map[string]any{"networkInterfaces": []any{map[string]any{"id": vmssNICID}}},
			"networkProfileConfiguration": map[string]any{"networkInterfaceConfigurations": []any{map[string]any{"name": "jump-nic",
				"properties": map[string]any{"primary": true, "ipConfigurations": []any{map[string]any{"name": "ipconfig1",
					"properties": map[string]any{"subnet": map[string]any{"id": snetID}, "privateIPAddressVersion": "IPv4"}}}}}}},
			"provisioningState": "Succeeded"}}
}
