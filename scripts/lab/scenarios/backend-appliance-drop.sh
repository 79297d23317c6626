# desc: the appliance drops traffic to the backend legacy.backend.lab.test, for this VM and (the instance's own probe says) for the instance too (run with --instance-probe)
# expect: backend.legacy-backend-lab-test-443 fail timeout (connect); instance.probe warn unreachable; finding backend.unreachable with the probe's hops; verdict degraded; exit 0
fault ip daddr "$(ip_of legacy.backend.lab.test)" tcp dport 443 drop
arm_knobs '{"connectivity": {"legacy.backend.lab.test": {"status": "Disconnected", "issue_type": "UserDefinedRoute", "rule": "udr-onprem", "hop": "VirtualAppliance"}}}'
