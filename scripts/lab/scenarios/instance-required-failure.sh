# desc: the instance's own NetworkStatus reports its platform storage (blob) failing, while this VM reaches it (the instance's subnet rules differ, or the status is old)
# expect: instance.required fail unreachable (analysis), naming the row and "this VM reaches it"; outbound.storage.blob pass; verdict blocked; exit 1
arm_knobs '{"instance_fail": ["apimstlab0001.blob.core.windows.net"]}'
