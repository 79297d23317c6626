# desc: arm-jumpbox-nic-nsg under a Reader identity (the effective reads denied): the configured view shows nsg-jump on the jumpbox's NIC denying TCP 1433 to Sql and the subnet's nsg-apim allowing it, but not Virtual Network Manager's admin rules
# expect: outbound.sql fail timeout (connect), saying this VM's own NIC explains the failure, as configured, and that whether the instance gets through is not observable without the effective view; instance.dependencies warn (the instance itself reports its SQL server reached); finding vm.nic-nsg-denies; verdict blocked; exit 1
jump_fault tcp dport 1433 drop
arm_knobs '{"deny_effective": true, "nic_nsg_deny": {"to": "Sql", "port": 1433}}'
