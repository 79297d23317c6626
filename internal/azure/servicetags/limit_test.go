package servicetags

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --service-tags past its limit is refused with one line, and a file with no
// size to check first (a device, a pipe) is read no further than the limit.
func TestLoadRefusesLargeFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	doc := `{"values":[{"name":"AzureCloud","properties":{"addressPrefixes":["20.0.0.0/8"]}}]}`
	if err := os.WriteFile(big, []byte(doc+strings.Repeat(" ", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		_, err := Load(path) // /dev/zero read past the limit would never end
		if err == nil || strings.Contains(err.Error(), "\n") || (path == big && !strings.Contains(err.Error(), "more than")) {
			t.Errorf("%s: %v", path, err)
		}
	}
	ok := filepath.Join(t.TempDir(), "ok.json")
	if err := os.WriteFile(ok, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ok); err != nil {
		t.Errorf("a small file: %v", err)
	}
}
