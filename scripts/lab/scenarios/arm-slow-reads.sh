# desc: the effective routes and NSGs take 8 s, as real ARM's do (202, Location, Retry-After 10); run with --deadline 20s
# expect: every route.* and subnet.* analysis has a verdict (no skip); the run ends within 0.5 s of the last read
arm_knobs '{"lro_seconds": 8}'
