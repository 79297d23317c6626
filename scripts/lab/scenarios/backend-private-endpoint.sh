# desc: the instance's backend orders.backend.lab.test is reached through a private endpoint: its name is a CNAME into a linked privatelink zone, answered in the subnet, and it wants a token (401)
# expect: backend.orders-backend-lab-test-443 pass naming the private endpoint and "authentication refused"; backend.named-value.echo-backend skip no-data; verdict ready; exit 0
: # the healthy lab already serves it; nothing to break
