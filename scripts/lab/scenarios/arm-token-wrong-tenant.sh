# desc: Resource Manager refuses the identity's token (401 InvalidAuthenticationTokenTenant: a token from another tenant than the subscription's)
# expect: route.* and subnet.* skip not-observable with the tenant fix, never a role; finding context.arm-unreadable names the refusal; verdict ready; exit 0
arm_knobs '{"token_rejected": "InvalidAuthenticationTokenTenant"}'
