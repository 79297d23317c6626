# desc: the jumpbox's own NIC carries NSG nsg-jump, whose rule DenyJumpboxOut drops TCP 1433 to the SQL server labsql (in the jumpbox, before any router); the subnet's NSG nsg-apim allows it
# expect: outbound.sql warn timeout (connect), saying the failure is this VM's, not the subnet's, naming nsg-jump and DenyJumpboxOut, its hint the rule to add to nsg-jump; subnet.nsg.* pass; finding vm.nic-nsg-denies; verdict degraded; exit 0
sql=$(ip_of labsql.database.windows.net)
jump_fault ip daddr "$sql" tcp dport 1433 drop
arm_knobs "{\"nic_nsg_deny\": {\"address\": \"$sql\", \"port\": 1433}}"
