# desc: the VNet's custom DNS server holds the instance's zone but does not forward to Azure DNS
# expect: outbound.storage.blob fail nxdomain (resolve); Azure DNS has the right answer; verdict blocked; exit 1
custom_dns_no_forward
