# desc: an NSG-like rule silently drops Resource Manager (management.azure.com), as an outbound allow-list made of APIM's dependencies does
# expect: the analyses are skipped as "got no answer from Resource Manager (timeout)", the finding names the network, not permissions; the run ends well before --deadline
fault ip daddr "$(ip_of management.azure.com)" tcp dport "$ARM_PORT" drop
