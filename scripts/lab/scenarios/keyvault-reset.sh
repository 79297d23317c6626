# desc: a firewall answers the SYN to Key Vault with a TCP reset
# expect: outbound.keyvault fail refused (connect); verdict blocked; exit 1
fault ip daddr "$(ip_of "$KV.vault.azure.net")" tcp dport 443 reject with tcp reset
