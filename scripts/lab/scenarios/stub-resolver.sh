# desc: the jumpbox resolves like stock Ubuntu: /etc/resolv.conf names a local stub on 127.0.0.53 (systemd-resolved's place) that forwards to the VNet's DNS server 198.18.2.53, which /run/systemd/resolve/resolv.conf names
# expect: no failure; the stub and its upstream both asked, each with its source; instance.dns pass comparing 198.18.2.53; verdict ready; exit 0
stub_resolver
