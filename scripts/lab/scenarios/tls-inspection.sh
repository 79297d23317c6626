# desc: a firewall inspects TLS with a CA this machine trusts but that is not an Azure root
# expect: outbound.keyvault fail tls-intercepted (tls); tls.interception fail; verdict blocked; exit 1
use_inspection_ca
