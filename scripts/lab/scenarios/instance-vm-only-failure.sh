# desc: an NSG-like rule drops TCP 1433 to the platform's SQL server, which only the instance's dependency list names; the instance itself reports success
# expect: instance.dependencies fail timeout (connect), saying the instance itself reports success; instance.required pass; verdict blocked; exit 1
fault ip daddr "$(ip_of apirpsqllab01.database.windows.net)" tcp dport 1433 drop
