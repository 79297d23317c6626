package discover

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

const sdkLogChild = "APIMPROBE_TEST_SDKLOG_CHILD"

// TestSDKLogChild is run by TestSDKLogShowsNoSecret in a process of its
// own, with AZURE_SDK_GO_LOGGING=all (azcore reads it once, at start): a
// Resource Manager whose error body echoes a token and the Authorization
// header.
func TestSDKLogChild(t *testing.T) {
	mode := os.Getenv(sdkLogChild)
	if mode == "" {
		t.Skip("run by TestSDKLogShowsNoSecret")
	}
	if mode == "routed" {
		arm.LogSDK(zerolog.New(os.Stderr).Level(zerolog.DebugLevel))
	}
	imds, _ := fakeIMDS(t)
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"code":"BadRequest","message":"echo Authorization: Bearer ` + testJWT +
			` access_token=` + echoSecret + `"}}`))
	}
	arm := newARM(t, map[string]http.HandlerFunc{"GET jumpbox": echo, "GET contoso": echo})
	s := mustDiscover(t, context.Background(), baseOpts(imds.URL, arm)).Wait(context.Background())
	if r := s.Read(snapshot.ReadVM); r == nil || r.OK() {
		t.Fatalf("vm read %+v", r)
	}
}

// With AZURE_SDK_GO_LOGGING=all, azcore would print Resource Manager's
// error bodies on standard error as they came. Nothing of the SDK's log
// reaches standard error unless arm.LogSDK routes it, and then cleaned.
func TestSDKLogShowsNoSecret(t *testing.T) {
	for _, mode := range []string{"silent", "routed"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSDKLogChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "AZURE_SDK_GO_LOGGING=all", sdkLogChild+"="+mode)
		out, err := cmd.CombinedOutput()
		s := string(out)
		if err != nil || !strings.Contains(s, "--- PASS: TestSDKLogChild") {
			t.Fatalf("%s child: %v\n%s", mode, err, s)
		}
		if strings.Contains(s, "eyJ0eXAi") || strings.Contains(s, echoSecret) {
			t.Fatalf("%s: a secret reached standard error:\n%s", mode, s)
		}
		sdk := strings.Contains(s, "ResponseError") || strings.Contains(s, "REQUEST")
		switch mode {
		case "silent":
			if sdk {
				t.Errorf("silent: the SDK printed on standard error:\n%s", s)
			}
		case "routed":
			if !strings.Contains(s, `"sdk_event":"ResponseError"`) || !strings.Contains(s, "[redacted]") {
				t.Errorf("routed: no cleaned SDK log on standard error:\n%s", s)
			}
		}
	}
}
