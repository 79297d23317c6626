# desc: this VM reaches the backend orders.backend.lab.test, but the instance's own probe (ConnectivityCheck) is stopped by a security rule (run with --instance-probe)
# expect: backend.orders-backend-lab-test-443 pass with evidence.instance_probe.agreement instance-fails; instance.probe warn nsg-rule; finding instance.path-differs; verdict degraded; exit 0
arm_knobs '{"connectivity": {"orders.backend.lab.test": {"status": "Disconnected", "issue_type": "NetworkSecurityRule", "rule": "DenyOrdersOutbound"}}}'
