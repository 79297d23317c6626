# desc: the identity may read resources but not the effective routes and NSGs (403); the configured view takes over
# expect: route.* and subnet.nsg.* pass from the configured view; verdict ready; exit 0
arm_knobs '{"deny_effective": true}'
