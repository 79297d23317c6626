# desc: the landing zone's documented forced tunnel under a Reader identity: the hub's gateway advertises 0.0.0.0/0 over BGP, no route table shows it, and the wire leaves on-premises (198.18.100.1) through the appliance
# expect: route.egress-ip warn forced-tunnel; route.forced-tunnel warn forced-tunnel (the wire shows what the configured view cannot); route.management-return fail asymmetric-route; route.dependency.* warn forced-tunnel; verdict blocked; exit 1
egress_via "$ONPREM_IP"
appliance_answers
arm_knobs '{"deny_effective": true, "hub_dns": true, "hub_gateway": true, "bgp_default": true}'
