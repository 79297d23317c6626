# desc: the identity may read but not run ConnectivityCheck (403, as for Reader) (run with --instance-probe)
# expect: instance.probe skip not-observable, naming the action to allow; verdict ready; exit 0
arm_knobs '{"connectivity_deny": true}'
