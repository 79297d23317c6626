# desc: the subnet's route table sends the default route in two halves (0.0.0.0/1 and 128.0.0.0/1) to an appliance; Resource Manager shows it and the wire goes that way
# expect: route.forced-tunnel warn forced-tunnel; route.management-return fail asymmetric-route; route.path.* warn forced-tunnel (appliance 198.18.1.1); verdict blocked; exit 1
egress_via "$ONPREM_IP"
appliance_answers
arm_knobs '{"split_default": true}'
