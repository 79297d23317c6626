# desc: a classic (internal) instance's subnet snet-apim is delegated to Microsoft.Web/serverFarms
# expect: subnet.free and subnet.config fail (a classic subnet takes no delegation)
arm_knobs '{"classic_delegation": "Microsoft.Web/serverFarms"}'
