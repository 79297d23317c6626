# desc: arm-jumpbox-nic-nsg under a Reader identity (the effective reads denied): the configured view shows nsg-jump on the jumpbox's NIC denying TCP 1433 to labsql and the subnet's nsg-apim allowing it, but not Virtual Network Manager's admin rules
# expect: outbound.sql fail timeout (connect), saying this VM's own NIC explains the failure, as configured, and that whether the instance gets through is not observable without the effective view; finding vm.nic-nsg-denies; verdict blocked; exit 1
sql=$(ip_of labsql.database.windows.net)
jump_fault ip daddr "$sql" tcp dport 1433 drop
arm_knobs "{\"deny_effective\": true, \"nic_nsg_deny\": {\"address\": \"$sql\", \"port\": 1433}}"
