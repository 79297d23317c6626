# desc: a Premium v2 instance injected into snet-apim-v2, run without --mode (--mode auto): the mode is the instance's (PremiumV2, Internal)
# expect: context.mode v2-injected from arm; instance.mode pass; subnet.config judged on snet-apim-v2; verdict ready; exit 0
arm_knobs '{"v2_subnet": true}'
