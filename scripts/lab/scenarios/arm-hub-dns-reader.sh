# desc: a landing zone's spoke under a Reader identity (the effective reads denied): the custom DNS server 198.18.2.53 lives in a hub VNet reached over a connected peering that uses the hub's gateway
# expect: subnet.nsg.outbound-dns-53 pass from the configured view (the VirtualNetwork tag reaches the peered hub); route.forced-tunnel and route.management-return skip not-observable (routes learnt over BGP may reach the subnet), naming az network nic show-effective-route-table; verdict ready; exit 0
arm_knobs '{"deny_effective": true, "hub_dns": true, "hub_gateway": true}'
