# desc: a Premium v2 instance in its own subnet snet-apim-v2, delegated to Microsoft.Web/hostingEnvironments; the jumpbox runs beside it in snet-apim (run with --mode v2-injected)
# expect: subnet.config pass judged on snet-apim-v2, saying apimprobe runs in snet-apim; subnet.nsg.* from its configured view
arm_knobs '{"v2_subnet": true}'
