// Package testtool holds what tests in several packages need: the external
// checkers some tests run (promtool, xmllint, node_exporter,
// systemd-analyze) and loopback servers. It is imported by tests only.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Need finds an external checker. scripts/test installs them and sets
// APIMPROBE_REQUIRE_TOOLS=1, so there a missing tool fails the test;
// elsewhere it skips, naming the Debian package to install.
func Need(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("APIMPROBE_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s not found (Debian package %s), and APIMPROBE_REQUIRE_TOOLS=1", name, debianPackage)
	}
	t.Skipf("%s not found: install Debian's %s (scripts/test does)", name, debianPackage)
	return ""
}
