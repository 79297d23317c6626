# desc: a default route sends internet-bound traffic through a virtual appliance on-premises; the echo sees the on-premises address
# expect: route.egress-ip warn forced-tunnel; route.path.* warn forced-tunnel (appliance 198.18.1.1); verdict degraded; exit 0
egress_via "$ONPREM_IP"
appliance_answers
