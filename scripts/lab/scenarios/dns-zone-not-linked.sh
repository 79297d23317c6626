# desc: the private DNS zone is not linked to the VNet: the instance names get their public answer
# expect: dns.gateway fail public-answer; verdict blocked; exit 1
azure_dns_body public
