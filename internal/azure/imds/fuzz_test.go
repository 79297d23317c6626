package imds

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

func FuzzIMDSDocument(f *testing.F) {
	testtool.SeedBodies(f, "testdata", "imds.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var d imdsDoc
		if json.Unmarshal(body, &d) != nil {
			return
		}
		in := &Instance{Location: d.Compute.Location, Name: d.Compute.Name, ResourceGroup: d.Compute.ResourceGroupName,
			SubscriptionID: d.Compute.SubscriptionID, ResourceID: d.Compute.ResourceID, AzEnvironment: d.Compute.AzEnvironment}
		for _, nic := range d.Network.Interface {
			if len(nic.IPv4.IPAddress) > 0 {
				in.PrivateIP, in.PublicIP = nic.IPv4.IPAddress[0].PrivateIPAddress, nic.IPv4.IPAddress[0].PublicIPAddress
			}
			if len(nic.IPv4.Subnet) > 0 {
				in.Subnet = nic.IPv4.Subnet[0].Address + "/" + nic.IPv4.Subnet[0].Prefix
			}
		}
		in.validate()
		for _, v := range []string{in.Location, in.Name, in.ResourceGroup, in.SubscriptionID, in.ResourceID, in.AzEnvironment} {
			for _, r := range v {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("a control character survived validation: %q", v)
				}
			}
		}
		if in.Subnet != "" {
			if _, err := netip.ParsePrefix(in.Subnet); err != nil {
				t.Fatalf("subnet %q kept but not a prefix", in.Subnet)
			}
		}
	})
}

// The metadata service's token answer: a token with its value, or an
// error; and what of an error body a message may show (identityWords): an
// OAuth code and a documented description, never what else the body holds
// (it may echo a token).
func FuzzIMDSToken(f *testing.F) {
	f.Add([]byte(`{"access_token": "eyJ0eXAi.eyJhdWQi.c2ln", "expires_on": "1700000000"}`))
	f.Add([]byte(`{"access_token": "x", "expires_on": 1700000000}`))
	f.Add([]byte(`{"access_token": "", "expires_on": 5}`))
	f.Add([]byte(`{"error": "invalid_request", "error_description": "Identity not found", "token": "SECRET"}`))
	f.Add([]byte(`{"error": "SECRET\u001b", "error_description": "SECRET"}`))
	f.Add([]byte(`{"error": {"code": "SECRET"}, "error_description": "IMDS is updating."}`))
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseToken(body, now)
		if err == nil && tok.Token == "" {
			t.Fatal("a token without its value")
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("the body reached the error: %q", err)
		}
		words := identityWords(body)
		if strings.Contains(words, "SECRET") || strings.ContainsFunc(words, unicode.IsControl) || len(words) > 200 {
			t.Fatalf("identityWords shows %q", words)
		}
	})
}

// The load balancer's answer gives an IPv4 address or nothing.
func FuzzLoadBalancer(f *testing.F) {
	f.Add([]byte(`{"loadbalancer": {"publicIpAddresses": [{"frontendIpAddress": "198.18.0.9", "privateIpAddress": "10.0.1.4"}]}}`), "10.0.1.4")
	f.Add([]byte(`{"loadbalancer": {"outboundRules": [{"frontendIpAddress": "::1"}, {"frontendIpAddress": "x"}, {"frontendIpAddress": "198.18.0.10"}]}}`), "")
	f.Add([]byte(`{"loadbalancer": null}`), "10.0.1.4")
	f.Fuzz(func(t *testing.T, body []byte, privateIP string) {
		if ip := parseLoadBalancer(body, privateIP); ip != "" {
			if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() || a.String() != ip {
				t.Fatalf("load balancer address %q", ip)
			}
		}
	})
}
