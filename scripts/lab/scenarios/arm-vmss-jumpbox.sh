# desc: the jumpbox is instance 0 of the Uniform scale set jump-vmss (its IMDS says so): its VM and NIC live at the scale set's paths, the plain NIC path is 404, and Resource Manager offers no effective views for such a NIC
# expect: route.* and subnet.* judged on snet-apim's configured view, saying a scale set VM's NIC has no effective routes or NSGs; subnet.nsg.inbound-3443 skip not-observable naming a standalone VM's NIC for az network nic list-effective-nsg; no check fails; verdict ready; exit 0
imds_doc vmss
arm_knobs '{"vmss_jumpbox": true}'
