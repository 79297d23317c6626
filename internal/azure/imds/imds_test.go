package imds

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/testtool"
)

const mib = 1 << 20

// An IMDS answer is bounded as it is read, and its transport inflates
// nothing: a gzip body is not JSON.
func TestIMDSBodyBounded(t *testing.T) {
	zeros := bytes.Repeat([]byte(" "), mib)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "" {
			t.Errorf("IMDS asked for %q", r.Header.Get("Accept-Encoding"))
		}
		w.Write([]byte(`{"compute":`))
		testtool.WriteRepeated(w, zeros, 256)
	}))
	t.Cleanup(srv.Close)
	var err error
	n := testtool.Allocated(func() { _, err = imdsGet(context.Background(), srv.URL+"/metadata/instance") })
	t.Logf("256 MiB IMDS answer: %d MiB allocated: %v", n/mib, err)
	if err == nil || n > 8*MaxBody {
		t.Fatalf("IMDS answer of 256 MiB: %v, %d MiB allocated", err, n/mib)
	}
}

// What the metadata service tells is kept only when it is what Azure gives:
// an escape sequence or shell text in a value never reaches a report.
func TestIMDSValuesValidated(t *testing.T) {
	in := &Instance{
		Location: "westeurope\x1b[31m", SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "rg-apim;rm -rf /",
		Name: "jumpbox", ResourceID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim/providers/Microsoft.Compute/virtualMachines/jumpbox",
		PrivateIP: "10.1.2.4", PublicIP: "$(id)", Subnet: "10.1.2.7/27", AzEnvironment: "AzurePublicCloud",
	}
	in.validate()
	if in.Location != "" || in.ResourceGroup != "" || in.PublicIP != "" {
		t.Errorf("hostile values kept: %+v", in)
	}
	if in.SubscriptionID == "" || in.Name != "jumpbox" || in.PrivateIP != "10.1.2.4" || in.Subnet != "10.1.2.0/27" || in.ResourceID == "" || in.AzEnvironment == "" {
		t.Errorf("genuine values dropped: %+v", in)
	}
}

func TestScaleSetResourceID(t *testing.T) {
	for name, want := range map[string]string{
		"vmss_3":        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/3",
		"vmss_a1b2c3d4": "", // Flexible: a plain VM
		"vmss":          "",
		"other_3":       "",
	} {
		if got := scaleSetResourceID("s", "rg", "vmss", name); got != want {
			t.Errorf("scaleSetResourceID(%q) = %q, want %q", name, got, want)
		}
	}
}

// The rules with their lengths checked apart keep exactly what the
// patterns with bounded repetitions kept, at and around every bound.
func TestIMDSRulesAsBoundedPatterns(t *testing.T) {
	old := []struct {
		name string
		re   *regexp.Regexp
		now  func(string) bool
	}{
		{"region", regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 ]{1,40}$`), imdsRegion},
		{"guid", regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`), isGUID},
		{"rg", regexp.MustCompile(`^[-\w._()]{1,90}$`), imdsRG},
		{"vm", regexp.MustCompile(`^[-\w.]{1,64}$`), imdsVMName},
		{"resource", regexp.MustCompile(`^(/[-\w._()]+)+$`), imdsResource},
		{"env", regexp.MustCompile(`^[A-Za-z]{1,40}$`), imdsEnv},
	}
	var in []string
	for _, unit := range []string{"a", "A", "9", " ", "-", "_", ".", "(", "/", "é", "\x00", "g", "F", "/a"} {
		for n := 0; n <= 92; n++ {
			in = append(in, strings.Repeat(unit, n), "a"+strings.Repeat(unit, n), "/"+strings.Repeat(unit, n))
		}
	}
	in = append(in, "westeurope", "West Europe", "00000000-0000-0000-0000-000000000001", "0000000-00000-0000-0000-000000000001",
		"ABCDEFab-cdef-0123-4567-89abcdefABCD", "00000000-0000-0000-0000-00000000000g", "00000000_0000-0000-0000-000000000001",
		"/subscriptions/x/resourceGroups/rg", "//x", "rg-apim;rm -rf /", "AzurePublicCloud", "jumpbox", "a\n", "\na")
	in = append(in, testtool.RandomStrings(20000, 100, "aZ09 -_.()/;éf-")...)
	for _, r := range old {
		for _, s := range in {
			if want := r.re.MatchString(s); r.now(s) != want {
				t.Errorf("%s(%q) = %v, the bounded pattern says %v", r.name, s, !want, want)
			}
		}
	}
}
