# desc: a multi-region instance: primary North Europe in snet-apim-prod, additional location West Europe in snet-apim, the jumpbox's subnet
# expect: the jumpbox's subnet is judged (it is the West Europe location's), on this VM's effective views; regional tags are West Europe's and the primary North Europe's; verdict ready; exit 0
arm_knobs '{"instance_multi_region": true}'
