# desc: the jumpbox's own NIC carries NSG nsg-jump, whose rule DenyJumpboxOut denies TCP 1433 to service tag Sql (dropped in the jumpbox, before any router): the catalogue's SQL server labsql and the platform's apirpsqllab01 get no answer; the subnet's NSG nsg-apim allows both
# expect: outbound.sql and instance.dependencies warn timeout (connect), saying the failure is this VM's, not the subnet's, naming nsg-jump and DenyJumpboxOut, the hint the rule to add to nsg-jump; subnet.nsg.outbound-sql-1433 pass; finding vm.nic-nsg-denies explains both; verdict degraded; exit 0
jump_fault tcp dport 1433 drop
arm_knobs '{"nic_nsg_deny": {"to": "Sql", "port": 1433}}'
