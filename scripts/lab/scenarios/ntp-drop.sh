# desc: the NSG has no rule for NTP: UDP 123 is silently dropped, everything on TCP passes
# expect: outbound.infra.ntp fail timeout (connect); verdict blocked; exit 1
fault udp dport 123 drop
