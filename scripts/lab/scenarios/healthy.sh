# desc: everything reachable; DNS forwards to Azure DNS; private zone linked
# expect: no failure; verdict ready; exit 0
: # no faults
