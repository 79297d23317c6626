# desc: the metadata service does not answer (a container, or a VM whose 169.254.169.254 is blocked); run with --imds-endpoint at a closed port and --arm=false
# expect: context.subnet 198.18.1.0/24 and vm_private_ip 198.18.1.10 from the jumpbox's interface (source interface), never an RFC 1918 guess; no check fails
: # the fault is the run's own --imds-endpoint (the scenario's arguments)
