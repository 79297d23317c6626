# desc: a Standard v2 instance integrated with snet-apim-v2 (delegated to Microsoft.Web/serverFarms; its gateway name public), whose route table sends 0.0.0.0/0 to an appliance on-premises (run with --mode v2-integrated)
# expect: route.dependency.storage skip not-applicable (the reference lists Key Vault only); route.forced-tunnel warn forced-tunnel whose fix names Key Vault and no ApiManagement route; verdict degraded; exit 0
egress_via "$ONPREM_IP"
appliance_answers
azure_dns_body public
arm_knobs '{"v2_subnet": true, "v2_integrated": true, "default_to_nva": true}'
