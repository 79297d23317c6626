# desc: every outbound TCP connection from the subnet is silently dropped; DNS and UDP (NTP) still get through
# expect: the outbound TCP checks fail timeout (connect); one finding outbound.connections-dropped explains them; verdict blocked; exit 1
# The metadata service stays reachable, as on Azure, where no NSG filters it.
fault ip saddr "$SUBNET" ip daddr 198.19.0.0/16 ip daddr != "$IMDS_IP" meta l4proto tcp drop
