# desc: the VNet's DNS server never answers (UDP and TCP 53 dropped)
# expect: dns checks fail dns-timeout; run ends within its deadline; verdict blocked; exit 1
fault ip daddr "$CUSTOM_DNS_IP" udp dport 53 drop
fault ip daddr "$CUSTOM_DNS_IP" tcp dport 53 drop
