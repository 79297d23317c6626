package arm

import (
	"os"
	"strings"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/rs/zerolog"

	"github.com/apimprobe/apimprobe/probes"
)

// AZURE_SDK_GO_LOGGING=all makes azcore print every request, response and
// error on standard error as it came: a Resource Manager error body echoing
// the Authorization header, an identity endpoint's answer. The package
// silences that at once; LogSDK routes the SDK's log through the run's
// logger instead, each line cleaned like any untrusted string.
func init() {
	azlog.SetListener(nil)
}

// sdkLogEnv is the SDK's own switch, honoured by LogSDK.
const sdkLogEnv = "AZURE_SDK_GO_LOGGING"

// maxSDKLine bounds one SDK log entry.
const maxSDKLine = 4000

// LogSDK sends the Azure SDK's log to l at debug level when
// AZURE_SDK_GO_LOGGING=all asks for it: tokens removed, query strings
// dropped, control characters replaced, bounded.
func LogSDK(l zerolog.Logger) {
	if os.Getenv(sdkLogEnv) != "all" {
		return
	}
	azlog.SetListener(func(ev azlog.Event, msg string) {
		l.Debug().Str("sdk_event", probes.Untrusted(string(ev), 40)).Msg(cleanSDKLine(msg))
	})
}

// cleanSDKLine makes one multi-line SDK entry a single clean line.
func cleanSDKLine(msg string) string {
	msg = strings.NewReplacer("\r\n", " | ", "\n", " | ", "\t", " ").Replace(msg)
	return probes.Untrusted(msg, maxSDKLine)
}
