# desc: the subnet's route table sends the default route in two halves (0.0.0.0/1 and 128.0.0.0/1) to an appliance; Resource Manager shows it
# expect: route.forced-tunnel warn forced-tunnel; route.management-return fail asymmetric-route; verdict blocked; exit 1
arm_knobs '{"split_default": true}'
