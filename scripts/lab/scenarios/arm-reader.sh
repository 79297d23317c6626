# desc: the identity holds the built-in Reader role only (*/read): the effective reads are denied (403 AuthorizationFailed naming the action) and it may not join the subnet
# expect: route.* and subnet.nsg.* from the configured view; subnet.permissions not-applicable after deployment (join is the deployer's concern); verdict ready; exit 0
arm_knobs '{"deny_effective": true, "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]}'
