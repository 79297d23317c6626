# desc: Resource Manager throttles: the VM read once (Retry-After 1, waited for), the effective reads with Retry-After 120 (beyond the deadline)
# expect: subnet.nsg.* pass from the configured view, naming the 429 and its Retry-After; verdict ready; exit 0
arm_knobs '{"throttle_once": true, "throttle_effective": 120}'
