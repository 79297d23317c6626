# desc: the instance reports Azure-provided DNS (168.63.129.16) while this VM asks the VNet's custom server 198.18.2.53
# expect: instance.dns warn resolver-disagree (analysis); verdict degraded; exit 0
arm_knobs '{"instance_dns": ["168.63.129.16"]}'
