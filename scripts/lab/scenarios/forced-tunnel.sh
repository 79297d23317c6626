# desc: a UDR sends 0.0.0.0/0 through a virtual appliance on-premises, with no ApiManagement route; the echo sees the on-premises address and Resource Manager shows the route
# expect: route.egress-ip warn forced-tunnel; route.path.* warn forced-tunnel (appliance 198.18.1.1); route.forced-tunnel warn forced-tunnel; route.management-return fail asymmetric-route; verdict blocked; exit 1
egress_via "$ONPREM_IP"
appliance_answers
arm_knobs '{"default_to_nva": true}'
