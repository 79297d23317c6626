# desc: before deploying Premium v2 into snet-apim-v2 (run with --mode v2-injected --phase pre --apim-subnet …/snet-apim-v2 --region westeurope): another VM's NIC stray-vm-nic is already in it
# expect: subnet.free fails naming stray-vm-nic
arm_knobs '{"v2_nic": true}'
