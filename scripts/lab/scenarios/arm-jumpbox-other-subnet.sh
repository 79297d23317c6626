# desc: a classic internal instance in its own subnet snet-apim-prod; the jumpbox runs in snet-apim beside it (a management subnet of the same VNet)
# expect: route.* and subnet.* judged on snet-apim-prod's configured view, every message naming it; subnet.config says apimprobe runs in snet-apim; verdict ready; exit 0
arm_knobs '{"instance_other_subnet": true}'
