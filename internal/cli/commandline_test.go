package cli

import (
	"strings"
	"testing"
)

// context.command keeps what was run but not a URL flag's query, fragment
// or user information, in either spelling of the flag.
func TestCommandLineDropsURLSecrets(t *testing.T) {
	got := CommandLine("run", []string{
		"--egress-echo-url", "https://u:pw1@echo.example/ip?key=SECRET1#frag1",
		"--imds-endpoint=http://user:pw2@127.0.0.1:9/metadata?token=SECRET2",
		"--arm-endpoint", "https://management.example/?sig=SECRET3",
		"--backend", "https://orders.contoso.test/api?code=SECRET4",
		"--backend=admin:pw5@orders.contoso.test/api?code=SECRET5",
		"--identity-client-id", "11111111-2222-3333-4444-555555555555",
		"--service", "contoso",
	})
	for _, secret := range []string{"SECRET", "pw1", "pw2", "pw5", "frag1", "u:", "user:", "admin:", "11111111"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survives in %s", secret, got)
		}
	}
	want := "apimprobe run --egress-echo-url https://echo.example/ip --imds-endpoint=http://127.0.0.1:9/metadata " +
		"--arm-endpoint https://management.example/ --backend https://orders.contoso.test/api --backend=orders.contoso.test/api " +
		"--identity-client-id <removed> --service contoso"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
