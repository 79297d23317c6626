package cli

import (
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/output"
)

// FuzzFlags: any command line (arguments separated by NUL in the input)
// is parsed and validated into a run's configuration or refused with one
// line, never a panic; context.command of it keeps no URL flag's query or
// user information. Nothing is probed and no file is written: -o values are
// parsed, not checked against the file system.
func FuzzFlags(f *testing.F) {
	for _, args := range [][]string{
		{"--service", "contoso", "--mode", "external", "-o", "json=/tmp/x.json"},
		{"--egress-echo-url", "https://u:p@echo.example/ip?key=SECRET", "--timeout", "2s", "--deadline", "1m"},
		{"--imds-endpoint=http://127.0.0.1:9/?sig=SECRET", "--no-arm", "--only", "outbound.*,dns.*"},
		{"--subnet", "10.0.1.0/24", "--private-ip", "10.0.1.5", "--dns-server", "10.0.0.4:53", "--expect-egress", "198.18.0.0/15"},
		{"--backend", "https://orders.contoso.test/api?code=SECRET", "--backend-required"},
		{"--arm-endpoint", "https://" + strings.Repeat("a", 300) + ".example/"},
		{"--units", "40", "--concurrency", "-1"},
		{"--azure-roots", "/dev/null", "--service-tags", "/nonexistent"},
	} {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		cmd := CommandLine("run", args)
		if strings.Count(line, "SECRET") == 1 {
			for i, a := range args {
				k, v, _ := strings.Cut(a, "=")
				if urlFlags[k] && strings.Contains(v, "?") && strings.Contains(v, "SECRET") && strings.Index(v, "?") < strings.Index(v, "SECRET") ||
					i > 0 && urlFlags[args[i-1]] && strings.Contains(a, "?") && strings.Index(a, "?") < strings.Index(a, "SECRET") {
					if strings.Contains(cmd, "SECRET") {
						t.Fatalf("a URL flag's query reached context.command: %s", cmd)
					}
				}
			}
		}
		c, _, err := Parse("run", args)
		if err != nil {
			if line := ErrLine(err); strings.ContainsAny(line, "\n\r") {
				t.Fatalf("%q: the parse error is not one line on standard error: %q", args, line)
			}
			return
		}
		if _, err := c.RunConfig(); err != nil {
			if line := ErrLine(err); strings.ContainsAny(line, "\n\r") {
				t.Fatalf("%q: the error is not one line on standard error: %q", args, line)
			}
		}
		for _, o := range c.Outputs {
			output.ParseSpec(o)
		}
	})
}
