# desc: a network manager's security admin rule denies TCP 3443 inbound, above the NSG that allows it
# expect: subnet.nsg.inbound-3443 fail nsg-rule naming the admin rule; verdict blocked; exit 1
arm_knobs '{"avnm_deny_3443": true}'
