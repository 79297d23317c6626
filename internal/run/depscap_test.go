package run

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"

	azdiscover "github.com/apimprobe/apimprobe/internal/azure/discover"
	"github.com/apimprobe/apimprobe/probes"
)

// An instance whose dependency list names 40 loopback hosts × 100 ports
// (4,000 pairs) is probed at 512 pairs at most, and instance.dependencies
// says what it left out.
func TestInstanceDependencyListCut(t *testing.T) {
	// Connections to 127.0.0.1 are counted; the other hosts refuse.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	var eps []string
	for h := 1; h <= 40; h++ {
		var det []string
		for p := range 100 {
			det = append(det, fmt.Sprintf(`{"port":%d}`, port+p))
		}
		eps = append(eps, fmt.Sprintf(`{"domainName":"127.0.0.%d","endpointDetails":[%s]}`, h, strings.Join(det, ",")))
	}
	deps := `{"value":[{"category":"Azure Storage","endpoints":[` + strings.Join(eps, ",") + `]}]}`
	arm := instanceARM(t, `[]`, deps)
	cfg := baseConfig(t, dnsServer(t, nil))
	cfg.Service, cfg.Only = "contoso", []string{"instance.dependencies"}
	cfg.Azure = azdiscover.Options{IMDSEndpoint: imdsServer(t), ARM: azdiscover.ARMOn, ARMEndpoint: arm.URL,
		ARMTransport: arm.Client(), TokenCredential: &azfake.TokenCredential{}, Service: "contoso", Mode: probes.ModeInternal, Phase: probes.DeployPost}
	_, rep := planAndRun(t, cfg)
	c := byID(rep)["instance.dependencies"]
	seen, _ := c.Evidence["dependencies"].([]any)
	t.Logf("%d pairs probed, %d connections to 127.0.0.1: %s", len(seen), accepted.Load(), c.Message)
	if len(seen) != 512 || accepted.Load() > 16 {
		t.Errorf("%d pairs probed, %d connections to 127.0.0.1; want 512 and at most 16", len(seen), accepted.Load())
	}
	if !strings.Contains(c.Message, "3488 host:port pairs on 40 hosts in the list were not probed") {
		t.Errorf("message does not say what was cut: %s", c.Message)
	}
	if np, _ := c.Evidence["not_probed"].(map[string]any); np == nil || np["pairs"] != float64(3488) && np["pairs"] != 3488 {
		t.Errorf("evidence.not_probed: %v", c.Evidence["not_probed"])
	}
}
