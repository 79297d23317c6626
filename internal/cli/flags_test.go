package cli

import (
	"strings"
	"testing"
)

// A URL flag whose host name DNS cannot carry (over 253 characters, a
// label over 63) is refused with one line before anything is probed.
func TestURLFlagsWithOverlongHostNames(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".examples" // 252 characters
	label := strings.Repeat("x", 64) + ".example"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--egress-echo-url", "https://" + long + "/ip"}, "--egress-echo-url: the host name is 252"},
		{[]string{"--egress-echo-url", "https://" + long + "xy/ip"}, "--egress-echo-url: the host name is 254 characters long, more than the 253"},
		{[]string{"--imds-endpoint", "http://" + label + "/"}, "--imds-endpoint: the host name has a label of 64"},
		{[]string{"--arm-endpoint", "https://" + long + "xyz:443/"}, "--arm-endpoint: the host name is 255"},
		{[]string{"--backend", "https://" + long + "wxyz.:8443/api"}, "--backend"},
		{[]string{"--backend", "https://" + label + "/api"}, "--backend"},
	} {
		c, _, err := Parse("run", tc.args)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.RunConfig()
		if tc.want == "--egress-echo-url: the host name is 252" {
			// 252 characters is a name DNS can carry.
			if err != nil && strings.Contains(err.Error(), "host name") {
				t.Errorf("%v: refused a 252-character name: %v", tc.args[0], err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %.40s…: got %v, want one line with %q", tc.args[0], tc.args[1], err, tc.want)
		}
	}
}
