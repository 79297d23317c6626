# desc: before deploying Premium v2 into snet-apim-v2 (run with --mode v2-injected --phase pre --apim-subnet …/snet-apim-v2 --region westeurope): permissions, Microsoft.Web, an empty delegated subnet, the same region
# expect: subnet.permissions, subnet.provider, subnet.free, subnet.region pass; verdict ready; exit 0
arm_knobs '{}'
