package output

import (
	"os"
	"os/exec"
	"testing"
)

// needTool finds an external checker (promtool, xmllint). scripts/test
// installs them and sets APIMPROBE_REQUIRE_TOOLS=1, so there a missing tool
// fails the test; elsewhere it skips with the package to install.
func needTool(t *testing.T, name, debianPackage string) string {
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
