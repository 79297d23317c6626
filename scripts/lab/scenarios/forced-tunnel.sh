# desc: a default route sends internet-bound traffic on-premises; the echo sees the on-premises address
# expect: route.egress-ip warn forced-tunnel; verdict degraded; exit 0
egress_via "$ONPREM_IP"
