# desc: no DNS server answers: UDP and TCP 53 dropped to the VNet's server and to Azure DNS alike
# expect: names fail dns-timeout; one finding dns.no-server-answers names both servers; verdict blocked; exit 1
fault ip daddr "$CUSTOM_DNS_IP" udp dport 53 drop
fault ip daddr "$CUSTOM_DNS_IP" tcp dport 53 drop
fault ip daddr "$AZURE_DNS_IP" udp dport 53 drop
fault ip daddr "$AZURE_DNS_IP" tcp dport 53 drop
