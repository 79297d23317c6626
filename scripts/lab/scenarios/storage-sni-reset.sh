# desc: a firewall filtering by name lets the TCP handshake through, then resets the connection when the ClientHello for the blob host arrives
# expect: outbound.storage.blob fail reset (tls); other storage hosts pass; verdict blocked; exit 1
# Every lab host name has its own address, so matching the blob host's
# address plus "a segment that carries data" (anything longer than a bare
# ACK with TCP options, i.e. the ClientHello) is a name-exact match: nft has
# no match for bytes at a variable offset, and this one never misfires.
fault ip daddr "$(ip_of "$STORAGE.blob.core.windows.net")" tcp dport 443 ip length '>' 100 reject with tcp reset
