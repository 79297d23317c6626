# desc: the VM has no network at all (its interface down: no route to anything, as under unshare -n)
# expect: every check that sends a packet fails unreachable; one finding network.unreachable explains them; verdict blocked; exit 1
jump_offline
