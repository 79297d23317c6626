# desc: a Premium v2 instance in snet-apim-v2 behind a default route the hub's gateway learns over BGP; the jumpbox in snet-apim may read its effective routes, which show it (run with --mode v2-injected)
# expect: route.forced-tunnel and route.dependency.storage warn forced-tunnel on the instance's configured view, with the BGP route taken from this VM's effective routes; subnet.config pass; verdict degraded; exit 0
egress_via "$ONPREM_IP"
appliance_answers
arm_knobs '{"v2_subnet": true, "hub_dns": true, "hub_gateway": true, "bgp_default": true}'
