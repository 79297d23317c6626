# desc: the instance's NetworkStatus rows were last updated 40 minutes ago (it lost the connectivity to report)
# expect: instance.stale warn timeout (analysis); verdict degraded; exit 0
arm_knobs '{"instance_stale_minutes": 40}'
