# desc: the instance is internal (Developer, virtualNetworkType Internal) but apimprobe is told --mode external
# expect: instance.mode fail naming both modes; dns.gateway fail (a private answer where external mode wants the public one); finding instance.mode-mismatch explains them; verdict blocked; exit 1
: # the fault is the operator's --mode (the scenario's arguments)
