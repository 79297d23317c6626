package azureroots

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --azure-roots past its limit, or endless, is refused at once with one
// line: /dev/zero used to be read until the runtime died (now it is refused
// as a device, before a byte is read).
func TestLoadRefusesLargeFiles(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.pem")
	pem := string(builtinPEM)
	if err := os.WriteFile(big, []byte(strings.Repeat(pem, MaxFileSize/len(pem)+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		_, err := Load(path) // /dev/zero read past the limit would never end
		want := "larger than"
		if path == "/dev/zero" {
			want = "not a regular file (a device)"
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", path, err)
		}
	}
	exact := filepath.Join(t.TempDir(), "ok.pem")
	if err := os.WriteFile(exact, builtinPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(exact); err != nil {
		t.Errorf("the built-in roots as a file: %v", err)
	}
}
