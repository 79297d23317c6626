# desc: an NSG-like rule silently drops Azure SQL (TCP 1433)
# expect: outbound.sql fail timeout (connect); verdict blocked; exit 1
fault ip daddr "$(ip_of "$SQL.database.windows.net")" tcp dport 1433 drop
