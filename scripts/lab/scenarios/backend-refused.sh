# desc: a backend given with --backend https://billing.backend.lab.test:8444/ has nothing listening on its port: the host answers the SYN with a reset
# expect: backend.billing-backend-lab-test-8444 fail refused (connect); verdict degraded; exit 0
: # nothing listens on 8444 in the lab; the scenario's flag names it
