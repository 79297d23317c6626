// Package e2e runs the built apimprobe binary inside the network-namespace
// lab (scripts/lab) against real Debian servers, one fault scenario at a
// time, and checks the JSON report, the verdict and the exit code. It needs
// root on Linux with `ip netns`; elsewhere every test skips and says why.
package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/goldentest"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

// The run's limits in the lab: short, so that silent drops cost little.
const (
	checkTimeout = 2 * time.Second
	runDeadline  = 8 * time.Second
	// What SPEC allows past --deadline ("a fraction of a second"), plus
	// starting a process in a namespace.
	deadlineSlack = time.Second
	// The budget of `lab up` on a machine that has its packages.
	labUpBudget = 20 * time.Second
)

// want is one assertion on one check of the report.
type want struct {
	id     string
	status probes.Status
	reason probes.Reason
	phase  probes.Phase // only for fail and warn
	// contains are substrings the message must hold (the view a verdict
	// comes from, the rule that decided).
	contains []string
}

// scenario is one file under scripts/lab/scenarios and what its run must show.
type scenario struct {
	name    string
	checks  []want
	verdict string
	exit    int
	// noFailure: no check may fail or warn (the healthy lab).
	noFailure bool
	// dropsPackets: the run's wall time must stay under --deadline.
	dropsPackets bool
	// finding is the id of the first finding that is not information: the
	// cause the report must name first, explaining the failing checks
	// above. Empty: no such finding (a lone failure is reported on its own).
	finding string
	// args are added to the lab's flags; deadline replaces runDeadline.
	// labEnv is given to `lab probe` (APIMLAB_ARM=auto: no --arm).
	args     []string
	labEnv   []string
	deadline time.Duration
	// analysesDecide: no route.* or subnet.* check may be skipped for any
	// reason but not-applicable (Resource Manager's reads all finished).
	analysesDecide bool
	// lastReadLag: the run must end within this of the lab Resource
	// Manager serving its last long-running result.
	lastReadLag time.Duration
	// within: the run must end within this, however long its --deadline.
	within time.Duration
	// subnetFrom: context.subnet must be the lab's 198.18.1.0/24 from this
	// source.
	subnetFrom string
	// mode: context.mode must be this, from Resource Manager (sources.mode arm).
	mode probes.Mode
	// resolvers: context.resolver_sources must hold these (address → source).
	resolvers map[string]string
	// infoFinding: a finding of severity info with this id must be in the
	// report, its title holding infoTitle.
	infoFinding, infoTitle string
	// noConfiguredPass: no verdict of the configured view passes (issue
	// 19: it never passes what it cannot see).
	noConfiguredPass bool
}

// idOnItsOwn is the finding of a failure whose siblings pass.
const idOnItsOwn = findings.IDAlone

// The lab's Resource Manager answers every read; the analyses judge its
// resources. Configured and effective views are named in the messages.
const (
	effectiveView  = "effective"
	configuredView = "configured view of subnet"
)

var scenarios = []scenario{
	{
		name: "healthy", noFailure: true, verdict: report.Ready, exit: 0,
		checks: []want{
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.sql", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.keyvault", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.graph.metadata", status: probes.Pass, reason: probes.ReasonOK},
			{id: "inbound.gateway", status: probes.Pass, reason: probes.ReasonOK},
			// Resource Manager's effective views, read end to end.
			{id: "route.management-return", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"effective routes of this VM's NIC"}},
			{id: "route.forced-tunnel", status: probes.Pass, reason: probes.ReasonOK},
			{id: "subnet.nsg.inbound-3443", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"AllowApimManagement", "effective NSGs"}},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK},
			// The documents' internal infrastructure: a real NTP exchange,
			// HTTPS and HTTP to the Windows hosts, and TCP 12000, which has
			// no destination to test.
			{id: "outbound.infra.ntp", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.infra.pki", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.infra.update-download.80", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.infra.diagnostics", status: probes.Skip, reason: probes.ReasonNotObservable},
			{id: "outbound.certs.https.crl", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.entra.login-windows", status: probes.Pass, reason: probes.ReasonOK},
			// --event-hub: HTTPS, AMQP over TLS and plain AMQP.
			{id: "outbound.eventhub", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.eventhub.amqps", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.eventhub.amqp", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "ntp-drop", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, dropsPackets: true,
		checks: []want{
			{id: "outbound.infra.ntp", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.infra.pki", status: probes.Pass, reason: probes.ReasonOK},
		},
		analysesDecide: true,
	},
	{
		name: "sql-drop", finding: "outbound.service-tag-dropped", verdict: report.Blocked, exit: 1, dropsPackets: true,
		checks: []want{{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect}},
	},
	{
		name: "monitor-drop", verdict: report.Blocked, exit: 1, dropsPackets: true, finding: "outbound.service-tag-dropped",
		checks: []want{
			{id: "outbound.monitor.warmpath", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.monitor.prod3.1886", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "keyvault-reset", finding: idOnItsOwn, verdict: report.Blocked, exit: 1,
		checks: []want{{id: "outbound.keyvault", status: probes.Fail, reason: probes.ReasonRefused, phase: probes.PhaseConnect}},
	},
	{
		name: "storage-sni-reset", finding: idOnItsOwn, verdict: report.Blocked, exit: 1,
		checks: []want{
			{id: "outbound.storage.blob", status: probes.Fail, reason: probes.ReasonReset, phase: probes.PhaseTLS},
			// The firewall filters by name: the account's other hosts work.
			{id: "outbound.storage.table", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "dns-zone-not-linked", verdict: report.Blocked, exit: 1, finding: "dns.zone-not-linked",
		checks: []want{{id: "dns.gateway", status: probes.Fail, reason: probes.ReasonPublicAnswer, phase: probes.PhaseDNS}},
	},
	{
		name: "dns-custom-no-forward", verdict: report.Blocked, exit: 1, finding: "dns.resolver-no-forward",
		checks: []want{
			{id: "outbound.storage.blob", status: probes.Fail, reason: probes.ReasonNXDomain, phase: probes.PhaseResolve},
			{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonNXDomain, phase: probes.PhaseResolve},
			// Resource Manager's name does not resolve either: the analyses
			// say so, rather than ask for permissions.
			{id: "subnet.config", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"got no answer from Resource Manager (nxdomain)"}},
		},
	},
	{
		name: "dns-resolver-silent", verdict: report.Blocked, exit: 1, dropsPackets: true, finding: "dns.resolver-silent",
		checks: []want{{id: "outbound.storage.blob", status: probes.Fail, reason: probes.ReasonDNSTimeout, phase: probes.PhaseResolve}},
	},
	{
		// Both resolvers silent: one finding names them both.
		name: "dns-all-silent", verdict: report.Blocked, exit: 1, dropsPackets: true, finding: "dns.no-server-answers",
		checks: []want{
			{id: "outbound.storage.blob", status: probes.Fail, reason: probes.ReasonDNSTimeout, phase: probes.PhaseResolve},
			{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonDNSTimeout, phase: probes.PhaseResolve},
		},
	},
	{
		// Every outbound TCP connection dropped, DNS and NTP answering: one
		// finding names the protocol, not one per service tag.
		name: "outbound-tcp-drop", verdict: report.Blocked, exit: 1, dropsPackets: true, finding: "outbound.connections-dropped",
		checks: []want{
			{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.storage.blob", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.monitor.warmpath", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "outbound.infra.ntp", status: probes.Pass, reason: probes.ReasonOK},
			{id: "dns.gateway", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// No network at all: the cause is the network, not a zone or a
		// resolver concluded from servers that never answered.
		name: "no-network", verdict: report.Blocked, exit: 1, finding: "network.unreachable",
		// Without --arm, as a laptop off the network runs it: --arm would
		// refuse to start without the metadata service.
		labEnv: []string{"APIMLAB_ARM=auto"},
		checks: []want{
			{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonUnreachable, phase: probes.PhaseResolve},
			{id: "dns.gateway", status: probes.Fail, reason: probes.ReasonUnreachable, phase: probes.PhaseDNS},
		},
	},
	{
		// The wire and Resource Manager agree, as on Azure: a UDR sends
		// 0.0.0.0/0 to the appliance the path shows.
		name: "forced-tunnel", verdict: report.Blocked, exit: 1, finding: "route.appliance-on-path", analysesDecide: true,
		checks: []want{
			{id: "route.egress-ip", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis},
			// The router now answers as a hop: an appliance on the path.
			{id: "route.path.storage", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis},
			{id: "route.path.sql", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis},
			{id: "route.forced-tunnel", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis, contains: []string{"0.0.0.0/0", "198.18.1.1"}},
			{id: "route.management-return", status: probes.Fail, reason: probes.ReasonAsymmetricRoute, phase: probes.PhaseAnalysis},
		},
	},
	{
		name: "tls-inspection", verdict: report.Blocked, exit: 1, finding: "tls.inspection",
		checks: []want{
			{id: "outbound.keyvault", status: probes.Fail, reason: probes.ReasonTLSIntercepted, phase: probes.PhaseTLS},
			// The instance's own dependencies are listed by host.
			{id: "tls.interception", status: probes.Fail, reason: probes.ReasonTLSIntercepted, phase: probes.PhaseTLS, contains: []string{"apikv-lab01.vault.azure.net (issuer"}},
		},
	},
	{
		name: "graph-403", finding: idOnItsOwn, verdict: report.Degraded, exit: 0,
		checks: []want{{id: "outbound.graph.metadata", status: probes.Fail, reason: probes.ReasonHTTPStatus, phase: probes.PhaseHTTP}},
	},
	// Resource Manager as real Azure answers it (azure-facts §11).
	{
		// Reads that take 8 s (202, Location, Retry-After 10) with
		// --deadline 20s: every analysis decides, and the run ends soon
		// after the last read.
		name: "arm-slow-reads", verdict: report.Ready, exit: 0, noFailure: true,
		deadline: 20 * time.Second, analysesDecide: true, lastReadLag: 500 * time.Millisecond,
		checks: []want{
			{id: "route.management-return", status: probes.Pass, reason: probes.ReasonOK, contains: []string{effectiveView}},
			{id: "subnet.nsg.inbound-3443", status: probes.Pass, reason: probes.ReasonOK, contains: []string{effectiveView}},
		},
	},
	{
		name: "arm-split-default", finding: "route.appliance-on-path", verdict: report.Blocked, exit: 1, analysesDecide: true,
		checks: []want{
			{id: "route.forced-tunnel", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis, contains: []string{"0.0.0.0/1", "128.0.0.0/1", "198.18.1.1"}},
			{id: "route.management-return", status: probes.Fail, reason: probes.ReasonAsymmetricRoute, phase: probes.PhaseAnalysis},
			{id: "route.path.storage", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis},
		},
	},
	{
		name: "arm-avnm-deny-3443", finding: "subnet.nsg-rule-denies", verdict: report.Blocked, exit: 1, analysesDecide: true,
		checks: []want{
			{id: "subnet.nsg.inbound-3443", status: probes.Fail, reason: probes.ReasonNSGRule, phase: probes.PhaseAnalysis, contains: []string{"DenyMgmt3443", "avnm-lab"}},
			{id: "subnet.nsg.outbound-storage-443", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// Resource Manager's port is dropped, as an outbound allow-list of
		// APIM's dependencies does: the reads give up at --timeout, not at
		// --deadline, and say the network is why, not permissions.
		name: "arm-drop", verdict: report.Ready, exit: 0, deadline: 20 * time.Second, within: 3 * checkTimeout,
		checks: []want{
			{id: "outbound.sql", status: probes.Pass, reason: probes.ReasonOK},
			{id: "subnet.config", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"got no answer from Resource Manager (timeout)", "--timeout 2s"}},
			{id: "route.forced-tunnel", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"got no answer from Resource Manager (timeout)"}},
			// The echo is asked at once, not after the service tags that
			// never come.
			{id: "route.egress-ip", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "arm-effective-denied", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "route.management-return", status: probes.Pass, reason: probes.ReasonOK, contains: []string{configuredView, "BGP", "HTTP 403"}},
			{id: "subnet.nsg.inbound-3443", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{configuredView, "security admin rules", "HTTP 403"}},
		},
	},
	{
		// The landing zone's operations identity: Reader, nothing more
		// (azure-facts §12.6). Diagnosing needs only reads.
		name: "arm-reader", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "subnet.permissions", status: probes.Skip, reason: probes.ReasonNotApplicable, contains: []string{"after deployment"}},
			{id: "route.forced-tunnel", status: probes.Pass, reason: probes.ReasonOK, contains: []string{configuredView, "lacks Microsoft.Network/networkInterfaces/effectiveRouteTable/action"}},
			{id: "subnet.nsg.inbound-3443", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{configuredView, "by rule AllowApimManagement at priority", "security admin rules of Azure Virtual Network Manager", "az network nic list-effective-nsg"}},
		},
	},
	{
		// A token from another tenant: a 401 is no missing role.
		name: "arm-token-wrong-tenant", verdict: report.Ready, exit: 0, noFailure: true,
		infoFinding: "context.arm-unreadable", infoTitle: "refused the token (InvalidAuthenticationTokenTenant)",
		checks: []want{
			{id: "route.forced-tunnel", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{"InvalidAuthenticationTokenTenant", "az login --tenant 00000000-0000-0000-0000-0000000000a1", "No role assignment fixes a 401"}},
			{id: "subnet.config", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"InvalidAuthenticationTokenTenant"}},
		},
	},
	{
		name: "arm-throttled", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "route.forced-tunnel", status: probes.Pass, reason: probes.ReasonOK, contains: []string{configuredView, "HTTP 429", "retry after 120 s"}},
			{id: "subnet.nsg.inbound-3443", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{configuredView, "HTTP 429"}},
		},
	},
	{
		name: "arm-v2-injected", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		args: []string{"--mode", "v2-injected"},
		checks: []want{
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"judged on the instance's subnet snet-apim-v2", "apimprobe runs in subnet snet-apim", "Microsoft.Web/hostingEnvironments"}},
			{id: "subnet.nsg.outbound-storage-443", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"configured view of subnet snet-apim-v2", "another subnet", "networkstatus"}},
			{id: "route.forced-tunnel", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"configured view of subnet snet-apim-v2"}},
		},
	},
	{
		// A classic instance judged from a jumpbox in another subnet
		// (azure-facts §12): the instance's subnet, on its configured view.
		name: "arm-jumpbox-other-subnet", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"judged on the instance's subnet snet-apim-prod", "apimprobe runs in subnet snet-apim, not in the instance's"}},
			{id: "route.management-return", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"configured view of subnet snet-apim-prod"}},
			// NSG flows on the configured view: allowed as configured, not
			// observable past Azure Virtual Network Manager's admin rules.
			{id: "subnet.nsg.inbound-3443", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{"configured view of subnet snet-apim-prod", "by rule AllowApimManagement at priority 100", "security admin rules"}},
			{id: "subnet.nsg.outbound-dns-53", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"snet-apim-prod", "198.18.2.53"}},
		},
	},
	{
		// A multi-region instance whose additional location's subnet is
		// the jumpbox's (azure-facts §12.7).
		name: "arm-multi-region", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "route.dependency.storage", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"Storage.WestEurope and Storage.NorthEurope", "effective routes of this VM's NIC"}},
			{id: "route.dependency.sql", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"Sql.WestEurope and Sql.NorthEurope"}},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// A Uniform scale set jumpbox (azure-facts §12.10): its VM and NIC
		// read at the scale set's paths; no effective view exists for its
		// NIC, so the configured view judges and says why. A healthy
		// instance is ready.
		name: "arm-vmss-jumpbox", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		checks: []want{
			{id: "route.forced-tunnel", status: probes.Pass, reason: probes.ReasonOK,
				contains: []string{configuredView + " snet-apim", "no effective routes or effective NSGs for a scale set VM's NIC"}},
			{id: "route.management-return", status: probes.Pass, reason: probes.ReasonOK, contains: []string{configuredView}},
			{id: "subnet.nsg.inbound-3443", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{configuredView, "AllowApimManagement", "a scale set VM's NIC", "az network nic list-effective-nsg -g RG -n NIC  # NIC: a standalone VM's NIC in the same subnet"}},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.sql", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// The jumpbox's own NIC NSG denies a flow the subnet's NSG allows
		// (issue 18, item 5): the failure is this VM's, and does not block
		// the instance.
		name: "arm-jumpbox-nic-nsg", verdict: report.Degraded, exit: 0, finding: findings.IDNICNSG, dropsPackets: true, analysesDecide: true,
		checks: []want{
			{id: "outbound.sql", status: probes.Warn, reason: probes.ReasonTimeout, phase: probes.PhaseConnect,
				contains: []string{"the failure is this VM's, not the subnet's", "rule DenyJumpboxOut (priority 200, Deny) of NSG nsg-jump on this VM's NIC denies Outbound TCP 1433 from 198.18.1.10/32",
					"the subnet's NSG nsg-apim allows it by rule AllowInternetOutBound", "Add to NSG nsg-jump, on this VM's NIC"}},
			{id: "instance.dependencies", status: probes.Warn, reason: probes.ReasonTimeout, phase: probes.PhaseConnect,
				contains: []string{"apirpsqllab01.database.windows.net:1433", "the failure is this VM's, not the subnet's", "Add to NSG nsg-jump, on this VM's NIC"}},
			{id: "subnet.nsg.outbound-sql-1433", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"effective NSGs"}},
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// The same under a Reader: the configured view shows the NIC's
		// NSG, not the admin rules, so the failure is attributed and
		// stands.
		name: "arm-jumpbox-nic-nsg-reader", verdict: report.Blocked, exit: 1, finding: findings.IDNICNSG, dropsPackets: true,
		checks: []want{
			{id: "outbound.sql", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect,
				contains: []string{"this VM's own NIC explains the failure", "rule DenyJumpboxOut (priority 200, Deny) of NSG nsg-jump on this VM's NIC denies Outbound TCP 1433 from 198.18.1.10/32",
					"the subnet's NSG nsg-apim allows it by rule AllowInternetOutBound", "as configured", "not observable without the effective view", "Add to NSG nsg-jump, on this VM's NIC"}},
			// The instance itself reports its SQL server reached.
			{id: "instance.dependencies", status: probes.Warn, reason: probes.ReasonTimeout, phase: probes.PhaseConnect,
				contains: []string{"apirpsqllab01.database.windows.net:1433", "the failure is this VM's, not the subnet's", "as configured"}},
		},
	},
	{
		// No metadata service: the subnet is the interface's (azure-facts
		// §12), never a guess.
		name: "no-imds", verdict: report.Ready, exit: 0, subnetFrom: "interface",
		args: []string{"--imds-endpoint", "http://198.19.169.254:9", "--arm=false"},
		checks: []want{
			{id: "dns.gateway", status: probes.Pass, reason: probes.ReasonOK},
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// The operator's --mode contradicts the instance (azure-facts §12.7).
		name: "arm-mode-mismatch", verdict: report.Blocked, exit: 1, finding: "instance.mode-mismatch",
		args: []string{"--mode", "external"},
		checks: []want{
			{id: "instance.mode", status: probes.Fail, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis,
				contains: []string{"the instance is internal (virtualNetworkType Internal, SKU Developer); --mode says external", "--mode internal"}},
			{id: "dns.gateway", status: probes.Fail, reason: probes.ReasonWrongAnswer, phase: probes.PhaseDNS},
		},
	},
	{
		// No --mode: the mode is the instance's own.
		name: "arm-mode-from-instance", verdict: report.Ready, exit: 0, noFailure: true, mode: probes.ModeV2Injected,
		args: []string{"--mode", "auto"},
		checks: []want{
			{id: "instance.mode", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"mode v2-injected, taken from the instance (virtualNetworkType Internal, SKU PremiumV2)"}},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"snet-apim-v2"}},
		},
	},
	{
		// v2 outbound integration behind a forced tunnel: no Storage route
		// is asked of it, and the tunnel's fix asks for no ApiManagement
		// route (no management traffic in the subnet).
		name: "arm-v2-integrated-tunnel", verdict: report.Degraded, exit: 0, finding: "route.appliance-on-path",
		args: []string{"--mode", "v2-integrated"},
		checks: []want{
			{id: "route.dependency.storage", status: probes.Skip, reason: probes.ReasonNotApplicable, contains: []string{"asks for no rule or route to Storage"}},
			{id: "route.forced-tunnel", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis,
				contains: []string{"configured view of subnet snet-apim-v2", "Azure Key Vault", "no ApiManagement route is needed"}},
			{id: "route.management-return", status: probes.Skip, reason: probes.ReasonNotApplicable},
		},
	},
	// The landing zone (azure-facts §12) as a Reader sees it: the
	// configured view never passes what it cannot see, never fails what
	// Azure allows.
	{
		// DNS to a server in the peered hub is allowed: the VirtualNetwork
		// tag reaches it. The hub's gateway may bring routes learnt over
		// BGP that no route table shows: the route verdicts do not pass.
		name: "arm-hub-dns-reader", verdict: report.Ready, exit: 0, noFailure: true, noConfiguredPass: true,
		checks: []want{
			// Allowed by AllowVnetOutBound, yet not a pass: the view cannot
			// see Virtual Network Manager's security admin rules.
			{id: "subnet.nsg.outbound-dns-53", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{configuredView, "by rule AllowVnetOutBound at priority 65000", "198.18.2.53", "security admin rules"}},
			{id: "route.forced-tunnel", status: probes.Skip, reason: probes.ReasonNotObservable,
				contains: []string{"peering spoke-to-hub uses the remote network's gateways", "az network nic show-effective-route-table"}},
			{id: "route.management-return", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"learnt over BGP"}},
			{id: "route.dependency.keyvault", status: probes.Skip, reason: probes.ReasonNotObservable},
		},
	},
	{
		// The documented forced tunnel: 0.0.0.0/0 learnt over BGP, in no
		// route table. The wire shows it; the configured view says so.
		name: "arm-bgp-tunnel-reader", verdict: report.Blocked, exit: 1, finding: "route.appliance-on-path", noConfiguredPass: true,
		checks: []want{
			{id: "route.egress-ip", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis},
			{id: "route.forced-tunnel", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis,
				contains: []string{configuredView, "198.18.100.1", "learnt over BGP"}},
			{id: "route.management-return", status: probes.Fail, reason: probes.ReasonAsymmetricRoute, phase: probes.PhaseAnalysis,
				contains: []string{"198.18.100.1", "service tag ApiManagement"}},
		},
	},
	{
		// A v2 instance behind the same default route: this VM's effective
		// routes show it, and they speak for the instance's subnet.
		name: "arm-v2-bgp-default", verdict: report.Degraded, exit: 0, finding: "route.appliance-on-path", noConfiguredPass: true,
		args: []string{"--mode", "v2-injected"},
		checks: []want{
			{id: "route.forced-tunnel", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis,
				contains: []string{"configured view of subnet snet-apim-v2", "VirtualNetworkGateway", "learnt over BGP that this VM's effective routes show"}},
			{id: "route.dependency.storage", status: probes.Warn, reason: probes.ReasonForcedTunnel, phase: probes.PhaseAnalysis, contains: []string{"VirtualNetworkGateway"}},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	// Validate before deploy: the lab's Resource Manager answers the
	// Permissions API and Microsoft.Web's registration in their real shapes.
	{
		// The VM's managed identity: a lack is a warning that says whose
		// permissions they are; the unregistered provider blocks.
		name: "arm-predeploy-v2-missing", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, analysesDecide: true,
		args: predeployV2Args,
		checks: []want{
			{id: "subnet.permissions", status: probes.Warn, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis,
				contains: []string{"this VM's managed identity lacks Microsoft.Network/virtualNetworks/subnets/join/action on subnet snet-apim-v2", "not the deploying person's"}},
			{id: "subnet.provider", status: probes.Fail, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis, contains: []string{"Microsoft.Web is NotRegistered"}},
			{id: "subnet.free", status: probes.Pass, reason: probes.ReasonOK},
			{id: "subnet.region", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"lab-vnet is in westeurope", "--region"}},
		},
	},
	{
		name: "arm-predeploy-v2-ready", verdict: report.Ready, exit: 0, noFailure: true, analysesDecide: true,
		args: predeployV2Args,
		checks: []want{
			{id: "subnet.permissions", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"subnets/join/action on subnet snet-apim-v2", "the VM's permissions"}},
			{id: "subnet.provider", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"Microsoft.Web is registered"}},
			{id: "subnet.free", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"snet-apim-v2 is free"}},
			{id: "subnet.region", status: probes.Pass, reason: probes.ReasonOK},
			{id: "subnet.config", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"snet-apim-v2"}},
		},
	},
	{
		name: "arm-predeploy-classic-delegated", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, analysesDecide: true,
		checks: []want{
			{id: "subnet.free", status: probes.Fail, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis, contains: []string{"delegated to Microsoft.Web/serverFarms", "must have no delegation"}},
			{id: "subnet.config", status: probes.Fail, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis, contains: []string{"needs no delegation"}},
			{id: "subnet.provider", status: probes.Skip, reason: probes.ReasonNotApplicable},
			{id: "subnet.region", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"the instance's location"}},
		},
	},
	{
		name: "arm-predeploy-v2-nic", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, analysesDecide: true,
		args: predeployV2Args,
		checks: []want{
			{id: "subnet.free", status: probes.Fail, reason: probes.ReasonSubnetConfig, phase: probes.PhaseAnalysis, contains: []string{"1 network interface (stray-vm-nic)"}},
			{id: "subnet.permissions", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	// The instance's own view beside this VM's (armfake serves NetworkStatus
	// and the dependency list, in the recorded shapes).
	{
		name: "instance-required-failure", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, analysesDecide: true,
		checks: []want{
			{id: "instance.required", status: probes.Fail, reason: probes.ReasonUnreachable, phase: probes.PhaseAnalysis,
				contains: []string{"apimstlab0001.blob.core.windows.net (BlobStorage, West Europe)", "Connection timed out", "this VM reaches it"}},
			{id: "instance.dependencies", status: probes.Pass, reason: probes.ReasonOK},
			{id: "instance.dns", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "instance-vm-only-failure", finding: idOnItsOwn, verdict: report.Blocked, exit: 1, dropsPackets: true,
		checks: []want{
			{id: "instance.dependencies", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect,
				contains: []string{"apirpsqllab01.database.windows.net:1433", "the instance itself reports success (West Europe"}},
			{id: "instance.required", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "instance-stale", finding: idOnItsOwn, verdict: report.Degraded, exit: 0,
		checks: []want{
			{id: "instance.stale", status: probes.Warn, reason: probes.ReasonTimeout, phase: probes.PhaseAnalysis,
				contains: []string{"rows of West Europe were last updated more than 30 minutes ago"}},
			{id: "instance.required", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// NetworkStatus rows refreshed at staggered times, up to 24 minutes
		// old, some dated without a zone, with the zero date or not at all
		// (azure-facts §12.8): the read holds, nothing is stale.
		name: "instance-dotnet-dates", noFailure: true, verdict: report.Ready, exit: 0,
		checks: []want{
			{id: "instance.stale", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"within the last 30 minutes", "rows carry no date with a zone"}},
			{id: "instance.required", status: probes.Pass, reason: probes.ReasonOK},
			{id: "instance.dns", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		// Stock Ubuntu's resolver layout (azure-facts §12.1): the stub and the
		// VNet's server behind it are both asked; the instance's DNS
		// servers are compared with the upstream, not the stub.
		name: "stub-resolver", noFailure: true, verdict: report.Ready, exit: 0,
		checks: []want{
			{id: "dns.gateway", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"the local stub resolver 127.0.0.53:53"}},
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
			{id: "instance.dns", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"198.18.2.53, behind its local stub resolver 127.0.0.53"}},
		},
		resolvers: map[string]string{"127.0.0.53:53": "resolv.conf", "198.18.2.53:53": "systemd-resolved", "198.18.2.16:53": "azure-dns"},
	},
	{
		name: "instance-dns-differs", finding: idOnItsOwn, verdict: report.Degraded, exit: 0,
		checks: []want{
			{id: "instance.dns", status: probes.Warn, reason: probes.ReasonResolverDisagree, phase: probes.PhaseAnalysis,
				contains: []string{"West Europe uses 168.63.129.16", "198.18.2.53"}},
			{id: "subnet.nsg.outbound-dns-53", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"198.18.2.53"}},
		},
	},
	// The user's backends (the lab's Resource Manager lists the instance's
	// backends and APIs) and the instance's own probe (ConnectivityCheck).
	{
		name: "backend-private-endpoint", noFailure: true, verdict: report.Ready, exit: 0,
		checks: []want{
			{id: "backend.orders-backend-lab-test-443", status: probes.Pass, reason: probes.ReasonOK,
				contains: []string{"authentication refused", "through a private endpoint (CNAME orders.privatelink.backend.lab.test)", "this machine's trust store"}},
			{id: "backend.legacy-backend-lab-test-443", status: probes.Pass, reason: probes.ReasonOK},
			{id: "backend.named-value.echo-backend", status: probes.Skip, reason: probes.ReasonNoData},
			{id: "backend.discovered", status: probes.Pass, reason: probes.ReasonOK, contains: []string{"5 URLs"}},
		},
	},
	{
		name: "backend-appliance-drop", verdict: report.Degraded, exit: 0, dropsPackets: true, finding: "backend.unreachable",
		args: []string{"--instance-probe"}, deadline: 15 * time.Second,
		checks: []want{
			{id: "backend.legacy-backend-lab-test-443", status: probes.Fail, reason: probes.ReasonTimeout, phase: probes.PhaseConnect},
			{id: "instance.probe", status: probes.Warn, reason: probes.ReasonUnreachable, phase: probes.PhaseAnalysis,
				contains: []string{"UserDefinedRoute at Source 198.18.1.5 (RuleName=udr-onprem)"}},
			{id: "backend.orders-backend-lab-test-443", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "backend-refused", finding: idOnItsOwn, verdict: report.Degraded, exit: 0,
		args: []string{"--backend", "https://billing.backend.lab.test:8444/"},
		checks: []want{
			{id: "backend.billing-backend-lab-test-8444", status: probes.Fail, reason: probes.ReasonRefused, phase: probes.PhaseConnect},
		},
	},
	{
		name: "instance-probe-disagree", verdict: report.Degraded, exit: 0, finding: "instance.path-differs",
		args: []string{"--instance-probe"}, deadline: 15 * time.Second,
		checks: []want{
			{id: "backend.orders-backend-lab-test-443", status: probes.Pass, reason: probes.ReasonOK},
			{id: "instance.probe", status: probes.Warn, reason: probes.ReasonNSGRule, phase: probes.PhaseAnalysis,
				contains: []string{"RuleName=DenyOrdersOutbound", "this VM reaches it, the instance does not"}},
			{id: "outbound.storage.blob", status: probes.Pass, reason: probes.ReasonOK},
		},
	},
	{
		name: "instance-probe-denied", noFailure: true, verdict: report.Ready, exit: 0,
		args: []string{"--instance-probe"}, deadline: 15 * time.Second,
		checks: []want{
			{id: "instance.probe", status: probes.Skip, reason: probes.ReasonNotObservable, contains: []string{"az provider operation show -n Microsoft.ApiManagement"}},
		},
	},
}

// predeployV2Args: before deploying Premium v2 into snet-apim-v2.
var predeployV2Args = []string{"--mode", "v2-injected", "--phase", "pre", "--region", "westeurope",
	"--apim-subnet", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.Network/virtualNetworks/lab-vnet/subnets/snet-apim-v2"}

// labSkipReason says why the lab cannot run here, or "" when it can.
func labSkipReason() string {
	if runtime.GOOS != "linux" {
		return "the lab needs Linux network namespaces (GOOS=" + runtime.GOOS + ")"
	}
	if os.Geteuid() != 0 {
		return "the lab needs root to create network namespaces"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the lab needs iproute2's `ip` command"
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		return "`ip netns` does not work here: " + strings.TrimSpace(string(out))
	}
	return ""
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildBinary builds cmd/apimprobe once for the whole suite.
func buildBinary(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "apimprobe")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/apimprobe")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/apimprobe: %v\n%s", err, out)
	}
	return bin
}

type lab struct {
	script, bin string
	// env is added to the lab script's environment (APIMLAB_ARM=auto).
	env []string
}

func (l lab) cmd(args ...string) *exec.Cmd {
	c := exec.Command(l.script, args...)
	c.Env = append(append(os.Environ(), "APIMPROBE="+l.bin), l.env...)
	return c
}

func (l lab) must(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := l.cmd(args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("lab %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// probe runs the binary in the jumpbox and returns its report, exit code
// and wall time; ended is when it returned.
func (l lab) probe(t *testing.T, deadline time.Duration, args ...string) (rep report.Report, code int, wall time.Duration, stderrOut string, ended time.Time) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := l.cmd(append([]string{"probe", "-o", "json", "--timeout", checkTimeout.String(), "--deadline", deadline.String()}, args...)...)
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err := c.Run()
	ended = time.Now()
	wall = ended.Sub(start)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("lab probe: %v", err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("lab probe (exit %d): the output is not a JSON report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	if err := schematest.Check(stdout.Bytes()); err != nil {
		t.Errorf("lab probe: the report does not match internal/report/schema.json: %v", err)
	}
	return rep, code, wall, stderr.String(), ended
}

// saveReport writes a scenario's report into
// $APIMLAB_SAVE_REPORTS/NAME.exitN.json (N the run's exit code) when that is
// set, normalised (goldentest.Normalize: what the run measured or raced is
// masked), so that two runs of a scenario give the same file: the output
// package's golden files are rendered from these (go test ./output -update).
// The scenario's report under another exit code goes.
func saveReport(t *testing.T, name string, code int, rep report.Report) {
	dir := os.Getenv("APIMLAB_SAVE_REPORTS")
	if dir == "" {
		return
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		b, err = goldentest.Normalize(b)
	}
	if err == nil {
		old, _ := filepath.Glob(filepath.Join(dir, name+".exit*.json"))
		for _, p := range old {
			os.Remove(p)
		}
		err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.exit%d.json", name, code)), b, 0o644)
	}
	if err != nil {
		t.Errorf("saving the report: %v", err)
	}
}

// lastServed is when the lab's Resource Manager last served the result of
// a long-running read (its log's "served" lines, UTC time of day).
func lastServed(t *testing.T, since time.Time) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "log", "armfake.log"))
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	day := since.UTC().Truncate(24 * time.Hour)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, " served ") {
			continue
		}
		tod, err := time.Parse("15:04:05.000000", strings.Fields(line)[0])
		if err != nil {
			continue
		}
		at := day.Add(time.Duration(tod.Hour())*time.Hour + time.Duration(tod.Minute())*time.Minute +
			time.Duration(tod.Second())*time.Second + time.Duration(tod.Nanosecond()))
		if at.After(since) && at.After(last) {
			last = at
		}
	}
	return last
}

func findCheck(rep report.Report, id string) (report.Check, bool) {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return report.Check{}, false
}

// brief is one line per check that did not pass, for failure messages.
func brief(rep report.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s (pass %d warn %d fail %d skip %d)\n", rep.Summary.Verdict, rep.Summary.Pass, rep.Summary.Warn, rep.Summary.Fail, rep.Summary.Skip)
	for _, c := range rep.Checks {
		if c.Status == probes.Pass || c.Status == probes.Skip {
			continue
		}
		fmt.Fprintf(&b, "  %-34s %-4s %-16s %-8s %s\n", c.ID, c.Status, c.Reason, c.FailedPhase, c.Message)
	}
	return b.String()
}

// signal is what the lab itself must show a plain client in the jumpbox
// (curl, dig, bash's /dev/tcp) in a scenario, before any apimprobe verdict
// is worth checking: the raw symptom of the fault.
type signal struct {
	cmd  string // run with bash inside the jumpbox namespace
	exit int    // expected exit status
	out  string // substring expected in stdout+stderr
}

// The lab's prefix and state directory: APIMLAB_PREFIX selects another,
// independent lab (scripts/lab/lab says how).
var (
	prefix   = cmp.Or(os.Getenv("APIMLAB_PREFIX"), "apl-")
	stateDir = cmp.Or(os.Getenv("APIMLAB_STATE"), map[bool]string{true: "/run/apimlab", false: "/run/apimlab-" + strings.TrimSuffix(prefix, "-")}[prefix == "apl-"])
	trust    = "--cacert " + stateDir + "/tls/trust.pem"
	roots    = "--cacert " + stateDir + "/tls/azure-roots.pem"
)

// The lab's Resource Manager, asked with a token from its metadata service.
const (
	armBase = "https://management.azure.com:8443"
	armNet  = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.Network"
	armTok  = "-H \"Authorization: Bearer $(curl -sS -H 'Metadata: true' 'http://198.19.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/' | sed 's/.*access_token\":\"\\([^\"]*\\).*/\\1/')\""
)

func armGET(path string) string {
	return "curl -sS " + trust + " " + armTok + " '" + armBase + path + "?api-version=2025-01-01'"
}

// armGETv asks with the api-version the real API takes.
func armGETv(path, apiVersion string) string {
	return "curl -sS " + trust + " " + armTok + " '" + armBase + path + "?api-version=" + apiVersion + "'"
}

// apimPath is the lab instance's resource id.
const apimPath = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"

// armCheck starts a ConnectivityCheck of the lab instance to an HTTPS URL
// and prints the status code.
func armCheck(url string) string {
	return "curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{\"source\":{\"region\":\"westeurope\"},\"destination\":{\"address\":\"" + url +
		"\",\"port\":443},\"protocol\":\"HTTPS\"}' " + trust + " " + armTok + " '" + armBase + apimPath + "/connectivityCheck?api-version=2024-05-01'"
}

func armPOST(op string) string {
	return "curl -sS -o /dev/null -w '%{http_code}' -X POST " + trust + " " + armTok + " '" + armBase + armNet + "/networkInterfaces/jump-nic/" + op + "?api-version=2025-01-01'"
}

// ntpAsk sends an NTP client request (mode 3, version 4) to
// time.windows.com with bash's /dev/udp and prints the first byte of the
// answer in hex; it exits 124 when none comes. The request must leave in
// one write, one datagram: tr writes its 48 bytes at once.
const ntpAsk = `set -o pipefail; exec 3<>/dev/udp/time.windows.com/123; printf '\x23%47s' '' | tr ' ' '\000' >&3; timeout 1 head -c 1 <&3 | od -An -tx1`

var signals = map[string][]signal{
	"healthy": {
		{cmd: "curl -sS -H 'Metadata: true' 'http://198.19.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/'", out: `"access_token":"lab-token"`},
		{cmd: armPOST("effectiveRouteTable"), out: "202"},
		{cmd: "curl -sS -i " + trust + " https://labkv.vault.azure.net/", out: `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://vault.azure.net"`},
		{cmd: "curl -sS " + roots + " 'https://graph.microsoft.com/v1.0/$metadata'", out: `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">`},
		{cmd: "curl -sS " + trust + " https://egress-echo.lab.test/", out: "198.19.0.100\n"},
		{cmd: "curl -sS -o /dev/null -w '%{http_code}' " + roots + " https://contoso.azure-api.net/status-0123456789abcdef", out: "200"},
		{cmd: "curl -sS -H 'Metadata: true' http://198.19.169.254/metadata/instance", out: `"location":"westeurope"`},
		{cmd: "curl -sS -o /dev/null -w '%{http_code}' http://crl.microsoft.com/", out: "200"},
		{cmd: "curl -sS " + roots + " https://prod3.prod.microsoftmetrics.com:1886/", out: "ok"},
		{cmd: "timeout 2 bash -c 'exec 3<>/dev/tcp/labsql.database.windows.net/1433'"},
		{cmd: "timeout 2 bash -c 'exec 3<>/dev/tcp/smtpi-co1.msn.com/25028; head -c 3 <&3'", out: "220"},
		{cmd: "dig +short contoso.azure-api.net", out: "198.18.1.5"},
		{cmd: "dig +short canary-lab-check.azure-api.net", out: "198.19.1.99"},
		{cmd: ntpAsk, out: " 24"}, // LI 0, version 4, mode 4: a server's answer
		{cmd: "curl -sS " + roots + " https://labevents.servicebus.windows.net:5671/", out: "ok"},
		{cmd: "timeout 2 bash -c 'exec 3<>/dev/tcp/labevents.servicebus.windows.net/5672'"},
	},
	"ntp-drop": {
		{cmd: ntpAsk, exit: 124},
		{cmd: "curl -sS " + roots + " https://issuer.pki.azure.com/", out: "ok"},
	},
	"sql-drop": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/labsql.database.windows.net/1433'", exit: 124},
	},
	"monitor-drop": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/gcs.prod.monitoring.core.windows.net/443'", exit: 124},
	},
	"keyvault-reset": {
		{cmd: "curl -sS " + trust + " https://labkv.vault.azure.net/", exit: 7, out: "Couldn't connect"},
	},
	"storage-sni-reset": {
		{cmd: "timeout 2 bash -c 'exec 3<>/dev/tcp/labstore.blob.core.windows.net/443'"},
		{cmd: "curl -sS " + trust + " https://labstore.blob.core.windows.net/", exit: 35, out: "reset"},
		{cmd: "curl -sS " + trust + " https://labstore.table.core.windows.net/", out: "ok"},
	},
	"dns-zone-not-linked": {
		{cmd: "dig +short contoso.azure-api.net", out: "198.19.1.5"},
	},
	"dns-custom-no-forward": {
		{cmd: "dig labstore.blob.core.windows.net", out: "status: NXDOMAIN"},
		{cmd: "dig +short @198.18.2.16 labstore.blob.core.windows.net", out: "198.19."},
		{cmd: "dig +short contoso.azure-api.net", out: "198.18.1.5"},
	},
	"dns-resolver-silent": {
		{cmd: "dig +time=1 +tries=1 labstore.blob.core.windows.net", exit: 9},
		{cmd: "dig +short +time=1 @198.18.2.16 labstore.blob.core.windows.net", out: "198.19."},
	},
	"dns-all-silent": {
		{cmd: "dig +time=1 +tries=1 labstore.blob.core.windows.net", exit: 9},
		{cmd: "dig +time=1 +tries=1 @198.18.2.16 labstore.blob.core.windows.net", exit: 9},
	},
	"outbound-tcp-drop": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/labsql.database.windows.net/1433'", exit: 124},
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/labkv.vault.azure.net/443'", exit: 124},
		{cmd: "dig +short labstore.blob.core.windows.net", out: "198.19."},
		{cmd: ntpAsk, out: " 24"},
	},
	"no-network": {
		{cmd: "ip route", out: ""},
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/198.19.1.99/443'", exit: 1, out: "Network is unreachable"},
		{cmd: "dig +time=1 +tries=1 labstore.blob.core.windows.net", exit: 9},
	},
	"forced-tunnel": {
		{cmd: "curl -sS " + trust + " https://egress-echo.lab.test/", out: "198.18.100.1\n"},
		{cmd: armGET(armNet + "/routeTables/rt-apim"), out: `"addressPrefix":"0.0.0.0/0"`},
	},
	"tls-inspection": {
		{cmd: "curl -sS " + trust + " https://labkv.vault.azure.net/", out: "AKV10000"},
		{cmd: "curl -sS " + roots + " https://labkv.vault.azure.net/", exit: 60},
	},
	"arm-drop": {
		{cmd: "curl -sS --max-time 2 " + trust + " " + armTok + " '" + armBase + armNet + "/virtualNetworks/vnet-apim?api-version=2025-01-01'", exit: 28},
	},
	"arm-slow-reads": {
		{cmd: armPOST("effectiveRouteTable"), out: "202"},
	},
	"arm-split-default": {
		{cmd: armGET(armNet + "/routeTables/rt-apim"), out: `"addressPrefix":"128.0.0.0/1"`},
	},
	"arm-avnm-deny-3443": {
		{cmd: armPOST("effectiveNetworkSecurityGroups"), out: "202"},
	},
	"arm-hub-dns-reader": {
		{cmd: armPOST("effectiveRouteTable"), out: "403"},
		{cmd: armGET(armNet + "/virtualNetworks/lab-vnet"), out: `"useRemoteGateways":true`},
		{cmd: "dig +short labkv.vault.azure.net", out: "198.19."},
	},
	"arm-bgp-tunnel-reader": {
		{cmd: "curl -sS " + trust + " https://egress-echo.lab.test/", out: "198.18.100.1\n"},
		{cmd: armPOST("effectiveRouteTable"), out: "403"},
		{cmd: armGET(armNet + "/virtualNetworks/lab-vnet"), out: `"remoteAddressSpace":{"addressPrefixes":["198.18.2.0/24"]}`},
	},
	"arm-v2-bgp-default": {
		{cmd: "curl -sS " + trust + " https://egress-echo.lab.test/", out: "198.18.100.1\n"},
		{cmd: armPOST("effectiveRouteTable"), out: "202"},
	},
	"arm-effective-denied": {
		{cmd: armPOST("effectiveRouteTable"), out: "403"},
		{cmd: armGET(armNet + "/networkSecurityGroups/nsg-apim"), out: `"name":"AllowApimManagement"`},
	},
	"arm-reader": {
		{cmd: armPOST("effectiveRouteTable"), out: "403"},
	},
	"arm-token-wrong-tenant": {
		{cmd: armGET(armNet + "/networkSecurityGroups/nsg-apim"), out: `"code":"InvalidAuthenticationTokenTenant"`},
	},
	"arm-throttled": {
		{cmd: armPOST("effectiveNetworkSecurityGroups"), out: "429"},
	},
	"arm-jumpbox-other-subnet": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"), out: "snet-apim-prod"},
	},
	"arm-multi-region": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"), out: `"additionalLocations":[{"location":"West Europe"`},
	},
	"arm-vmss-jumpbox": {
		{cmd: "curl -sS -H 'Metadata: true' http://198.19.169.254/metadata/instance", out: `"vmScaleSetName":"jump-vmss"`},
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.Compute/virtualMachineScaleSets/jump-vmss/virtualMachines/0/networkInterfaces/jump-nic"), out: `"virtualMachine":{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.Compute/virtualMachineScaleSets/jump-vmss/virtualMachines/0"}`},
		{cmd: armGET(armNet + "/networkInterfaces/jump-nic"), out: `"code":"ResourceNotFound"`},
	},
	"arm-jumpbox-nic-nsg": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/labsql.database.windows.net/1433'", exit: 124},
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/apirpsqllab01.database.windows.net/1433'", exit: 124},
		{cmd: "curl -sS " + trust + " https://labkv.vault.azure.net/ -o /dev/null -w '%{http_code}'", out: "401"},
		{cmd: armGET(armNet + "/networkInterfaces/jump-nic"), out: `"networkSecurityGroup":{"id":"` + armNet + `/networkSecurityGroups/nsg-jump"}`},
		{cmd: armGET(armNet + "/networkSecurityGroups/nsg-jump"), out: `"name":"DenyJumpboxOut"`},
	},
	"arm-jumpbox-nic-nsg-reader": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/labsql.database.windows.net/1433'", exit: 124},
		{cmd: armPOST("effectiveNetworkSecurityGroups"), out: "403"},
		{cmd: armGET(armNet + "/networkSecurityGroups/nsg-jump"), out: `"name":"DenyJumpboxOut"`},
	},
	"no-imds": {
		{cmd: "ip -4 -o addr show dev " + prefix + "jump0", out: "198.18.1.10/24"},
	},
	"arm-mode-mismatch": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"), out: `"virtualNetworkType":"Internal"`},
	},
	"arm-mode-from-instance": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"), out: `"name":"PremiumV2"`},
	},
	"arm-v2-integrated-tunnel": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.Network/virtualNetworks/lab-vnet/subnets/snet-apim-v2"), out: "Microsoft.Web/serverFarms"},
	},
	"arm-v2-injected": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso"), out: "snet-apim-v2"},
	},
	"arm-predeploy-v2-missing": {
		{cmd: armGETv(armNet+"/virtualNetworks/lab-vnet/subnets/snet-apim-v2/providers/Microsoft.Authorization/permissions", "2022-04-01"),
			out: `"notActions":["Microsoft.Network/virtualNetworks/subnets/join/action"]`},
		{cmd: armGETv("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Web", "2021-04-01"), out: `"registrationState":"NotRegistered"`},
	},
	"arm-predeploy-v2-ready": {
		{cmd: armGETv(armNet+"/virtualNetworks/lab-vnet/subnets/snet-apim-v2/providers/Microsoft.Authorization/permissions", "2022-04-01"), out: `"actions":["Microsoft.Network/*"]`},
		{cmd: armGETv("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Web", "2021-04-01"), out: `"registrationState":"Registered"`},
	},
	"arm-predeploy-classic-delegated": {
		{cmd: armGET(armNet + "/virtualNetworks/lab-vnet/subnets/snet-apim"), out: `"serviceName":"Microsoft.Web/serverFarms"`},
	},
	"arm-predeploy-v2-nic": {
		{cmd: armGET(armNet + "/virtualNetworks/lab-vnet/subnets/snet-apim-v2"), out: "/networkInterfaces/stray-vm-nic/ipConfigurations/ipconfig1"},
	},
	"instance-required-failure": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso/networkstatus"),
			out: `"name":"apimstlab0001.blob.core.windows.net","resourceType":"BlobStorage","status":"failure"`},
		{cmd: "curl -sS " + roots + " https://apimstlab0001.blob.core.windows.net/", out: "ok"},
	},
	"instance-vm-only-failure": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/apirpsqllab01.database.windows.net/1433'", exit: 124},
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso/outboundNetworkDependenciesEndpoints"),
			out: `"domainName":"apirpsqllab01.database.windows.net"`},
	},
	"instance-stale": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso/networkstatus"),
			out: `"name":"https://prod3.prod.microsoftmetrics.com:1886/RecoveryService"`},
	},
	"instance-dns-differs": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso/networkstatus"),
			out: `"dnsServers":["168.63.129.16"]`},
		{cmd: "grep nameserver /etc/resolv.conf", out: "198.18.2.53"},
	},
	"instance-dotnet-dates": {
		{cmd: armGET("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/lab-rg/providers/Microsoft.ApiManagement/service/contoso/networkstatus"),
			out: `"lastUpdated":"0001-01-01T00:00:00"`},
	},
	"stub-resolver": {
		{cmd: "dig +short +time=1 +tries=1 @127.0.0.53 labkv.vault.azure.net", out: "198.19."},
		{cmd: "dig +short +time=1 +tries=1 @127.0.0.53 version.lab.test TXT", out: "stub"},
	},
	"backend-private-endpoint": {
		{cmd: "dig +short orders.backend.lab.test", out: "orders.privatelink.backend.lab.test.\n198.18.1.20"},
		{cmd: "curl -sS -o /dev/null -w '%{http_code}' " + trust + " https://orders.backend.lab.test/api", out: "401"},
		{cmd: armGETv(apimPath+"/backends", "2024-05-01"), out: `"url":"https://orders.backend.lab.test/api"`},
	},
	"backend-appliance-drop": {
		{cmd: "timeout 1 bash -c 'exec 3<>/dev/tcp/legacy.backend.lab.test/443'", exit: 124},
		{cmd: armCheck("https://legacy.backend.lab.test/soap"), out: "202"},
	},
	"backend-refused": {
		{cmd: "curl -sS " + trust + " https://billing.backend.lab.test:8444/", exit: 7, out: "Couldn't connect"},
	},
	"instance-probe-disagree": {
		{cmd: "curl -sS -o /dev/null -w '%{http_code}' " + trust + " https://orders.backend.lab.test/api", out: "401"},
		{cmd: armCheck("https://orders.backend.lab.test/api"), out: "202"},
	},
	"instance-probe-denied": {
		{cmd: armCheck("https://orders.backend.lab.test/api"), out: "403"},
	},
	"graph-403": {
		{cmd: "curl -sS -o /dev/null -w '%{http_code}' " + roots + " 'https://graph.microsoft.com/v1.0/$metadata'", out: "403"},
	},
}

func TestLab(t *testing.T) {
	if why := labSkipReason(); why != "" {
		t.Skip("lab suite skipped: " + why)
	}
	root := repoRoot(t)
	// Built first, so that the lab serves every host of the binary's plan.
	bin := buildBinary(t, root)
	l := lab{script: filepath.Join(root, "scripts", "lab", "lab"), bin: bin}

	start := time.Now()
	l.must(t, "up")
	up := time.Since(start)
	t.Logf("lab up: %v", up.Round(time.Millisecond))
	if up > labUpBudget {
		t.Errorf("lab up took %v; its budget is %v", up, labUpBudget)
	}
	// up is idempotent: a second one on a running lab changes nothing.
	l.must(t, "up")
	l.must(t, "status")
	if os.Getenv("APIMLAB_KEEP") == "" {
		t.Cleanup(func() { checkDown(t, l) })
	}
	// The router drops whatever is addressed outside 198.18.0.0/15.
	if out, err := exec.Command("ip", "netns", "exec", prefix+"rt", "nft", "list", "chain", "inet", "apl", "forward").CombinedOutput(); err != nil || !strings.Contains(string(out), "policy drop") || !strings.Contains(string(out), "ip saddr 198.18.0.0/15 ip daddr 198.18.0.0/15 accept") {
		t.Errorf("router forward chain does not confine traffic to 198.18.0.0/15: %v\n%s", err, out)
	}

	for _, sc := range scenarios {
		t.Run("signals/"+sc.name, func(t *testing.T) {
			l.must(t, "apply", sc.name)
			sigs, ok := signals[sc.name]
			if !ok {
				t.Fatalf("no signals for scenario %s", sc.name)
			}
			for _, s := range sigs {
				out, err := exec.Command("ip", "netns", "exec", prefix+"jump", "bash", "-c", s.cmd).CombinedOutput()
				code := 0
				var exitErr *exec.ExitError
				if errors.As(err, &exitErr) {
					code = exitErr.ExitCode()
				} else if err != nil {
					t.Fatalf("%s: %v", s.cmd, err)
				}
				if code != s.exit || !strings.Contains(string(out), s.out) {
					t.Errorf("%s: exit %d, want %d; output %q, want it to contain %q", s.cmd, code, s.exit, out, s.out)
				}
			}
		})
	}

	for _, sc := range scenarios {
		t.Run("apimprobe/"+sc.name, func(t *testing.T) {
			l.must(t, "apply", sc.name)
			deadline := cmp.Or(sc.deadline, runDeadline)
			started := time.Now()
			sl := l
			sl.env = sc.labEnv
			rep, code, wall, stderr, ended := sl.probe(t, deadline, sc.args...)
			saveReport(t, sc.name, code, rep)
			t.Logf("%s: exit %d in %v\n%s", sc.name, code, wall.Round(time.Millisecond), brief(rep))
			checkRun(t, sc, rep, code, wall, stderr)
			if sc.lastReadLag > 0 {
				last := lastServed(t, started)
				if last.IsZero() {
					t.Fatalf("the lab's Resource Manager served no long-running result")
				}
				lag := ended.Sub(last)
				t.Logf("%s: last long-running read served %v after start; the run ended %v after it", sc.name, last.Sub(started).Round(time.Millisecond), lag.Round(time.Millisecond))
				if lag > sc.lastReadLag {
					t.Errorf("the run ended %v after the last read was served, want ≤ %v", lag, sc.lastReadLag)
				}
			}
		})
	}
}

func checkRun(t *testing.T, sc scenario, rep report.Report, code int, wall time.Duration, stderr string) {
	t.Helper()
	runDeadline := cmp.Or(sc.deadline, runDeadline)
	// Whatever the network does, the run ends by its deadline.
	if wall > runDeadline+deadlineSlack {
		t.Errorf("wall time %v exceeds --deadline %v by more than %v", wall, runDeadline, deadlineSlack)
	}
	if sc.within > 0 && wall > sc.within {
		t.Errorf("the run took %v, want within %v", wall, sc.within)
	}
	if sc.dropsPackets && wall >= runDeadline {
		t.Errorf("with packets dropped the run took %v, not under its --deadline %v: checks must end at their own --timeout %v", wall, runDeadline, checkTimeout)
	}
	if rep.SchemaVersion != report.SchemaVersion {
		t.Errorf("schema_version %d, want %d", rep.SchemaVersion, report.SchemaVersion)
	}
	if code != 0 && code != 1 {
		t.Fatalf("exit code %d: the run did not produce a verdict\nstderr:\n%s", code, stderr)
	}
	if sc.subnetFrom != "" && (rep.Context.Subnet != "198.18.1.0/24" || rep.Context.Sources["subnet"] != sc.subnetFrom ||
		rep.Context.VMPrivateIP != "198.18.1.10" || rep.Context.Sources["vm_private_ip"] != sc.subnetFrom) {
		t.Errorf("context subnet %q (%s), vm %q (%s), want 198.18.1.0/24 and 198.18.1.10 from %s", rep.Context.Subnet, rep.Context.Sources["subnet"],
			rep.Context.VMPrivateIP, rep.Context.Sources["vm_private_ip"], sc.subnetFrom)
	}
	if sc.mode != "" && (rep.Context.Mode != sc.mode || rep.Context.Sources["mode"] != "arm") {
		t.Errorf("context mode %q from %q, want %q from arm", rep.Context.Mode, rep.Context.Sources["mode"], sc.mode)
	}
	for addr, src := range sc.resolvers {
		if got := rep.Context.ResolverSources[addr]; got != src {
			t.Errorf("context.resolver_sources[%s] = %q, want %q (all: %v)", addr, got, src, rep.Context.ResolverSources)
		}
	}
	for _, w := range sc.checks {
		c, ok := findCheck(rep, w.id)
		if !ok {
			t.Errorf("check %s missing from the report", w.id)
			continue
		}
		if c.Status != w.status || c.Reason != w.reason {
			t.Errorf("%s: %s/%s, want %s/%s (phase %q: %s)", w.id, c.Status, c.Reason, w.status, w.reason, c.FailedPhase, c.Message)
		}
		if (w.status == probes.Fail || w.status == probes.Warn) && c.FailedPhase != w.phase {
			t.Errorf("%s: failed_phase %q, want %q (%s)", w.id, c.FailedPhase, w.phase, c.Message)
		}
		if (c.Status == probes.Fail || c.Status == probes.Warn) && c.Hint == "" {
			t.Errorf("%s: %s without a hint", w.id, c.Status)
		}
		for _, sub := range w.contains {
			// Case-sensitive: the words a reader sees, as written.
			if !strings.Contains(c.Message+" | "+c.Hint, sub) {
				t.Errorf("%s: message %q | hint %q does not contain %q", w.id, c.Message, c.Hint, sub)
			}
		}
	}
	// SPEC: every fail and warn, whichever check, says what to change, and
	// names the phase it failed in.
	for _, c := range rep.Checks {
		if c.Status != probes.Fail && c.Status != probes.Warn {
			continue
		}
		if c.Hint == "" {
			t.Errorf("%s: %s/%s without a hint (%s)", c.ID, c.Status, c.Reason, c.Message)
		}
		if c.FailedPhase == "" {
			t.Errorf("%s: %s/%s without a failed_phase (%s)", c.ID, c.Status, c.Reason, c.Message)
		}
	}
	if sc.noFailure {
		// From the flags or, once --imds-endpoint exists, from the lab's
		// metadata service: either way the lab's.
		if rep.Context.Region != "westeurope" || rep.Context.Subnet != "198.18.1.0/24" {
			t.Errorf("context region %q subnet %q (sources %v), want westeurope and 198.18.1.0/24", rep.Context.Region, rep.Context.Subnet, rep.Context.Sources)
		}
		for _, c := range rep.Checks {
			if c.Status == probes.Fail || c.Status == probes.Warn {
				t.Errorf("healthy lab, yet %s is %s/%s in phase %q: %s", c.ID, c.Status, c.Reason, c.FailedPhase, c.Message)
			}
		}
	}
	if sc.noConfiguredPass {
		n := 0
		for _, c := range rep.Checks {
			if c.Evidence["view"] != "configured" && !strings.Contains(c.Message, configuredView) {
				continue
			}
			n++
			if c.Status == probes.Pass {
				t.Errorf("%s passes on the configured view: %s", c.ID, c.Message)
			}
		}
		if n == 0 {
			t.Errorf("no verdict of the configured view in the report\n%s", brief(rep))
		}
	}
	checkFindings(t, sc, rep)
	if rep.Summary.Verdict != sc.verdict {
		t.Errorf("verdict %q, want %q\n%s", rep.Summary.Verdict, sc.verdict, brief(rep))
	}
	if code != sc.exit {
		t.Errorf("exit code %d, want %d", code, sc.exit)
	}
}

// minCoverage is the share of a failing run's failures and warnings (and
// of its required failures) that the findings must explain.
const minCoverage = 0.9

// checkFindings: the report names the scenario's cause first; the
// scenario's failing checks are each explained by a finding (the first
// when it names a common cause); and in every failing run the findings
// explain at least minCoverage of the failures and warnings, required
// failures first.
func checkFindings(t *testing.T, sc scenario, rep report.Report) {
	t.Helper()
	if rep.Findings == nil {
		t.Errorf("the report has no findings array")
		return
	}
	cov := findings.Coverage(rep.Checks, rep.Findings)
	t.Logf("%s coverage: %s", sc.name, cov)
	if cov.Bad > 0 && (cov.Ratio() < minCoverage || cov.RequiredRatio() < minCoverage) {
		t.Errorf("%s, want at least %.0f%% of each\n%s", cov, 100*minCoverage, brief(rep))
	}
	if sc.infoFinding != "" && !slices.ContainsFunc(rep.Findings, func(f report.Finding) bool {
		return f.ID == sc.infoFinding && f.Severity == report.SeverityInfo && strings.Contains(f.Title, sc.infoTitle) && len(f.Fix.Commands) == 0
	}) {
		t.Errorf("no info finding %s titled %q without commands: %+v", sc.infoFinding, sc.infoTitle, rep.Findings)
	}
	var first *report.Finding
	for i, f := range rep.Findings {
		if f.Severity != report.SeverityInfo {
			first = &rep.Findings[i]
			break
		}
	}
	explained := findings.Explained(rep.Findings)
	switch {
	case sc.finding == "" && first != nil:
		t.Errorf("no finding expected, got %s: %s", first.ID, first.Title)
	case sc.finding != "" && (first == nil || first.ID != sc.finding):
		t.Errorf("first finding %v, want %s", first, sc.finding)
	case first != nil:
		for _, w := range sc.checks {
			if w.status != probes.Fail && w.status != probes.Warn {
				continue
			}
			if sc.finding != idOnItsOwn && !slices.Contains(first.Checks, w.id) {
				t.Errorf("finding %s does not explain %s", first.ID, w.id)
			}
			if !explained[w.id] {
				t.Errorf("no finding explains %s", w.id)
			}
		}
	}
}

// checkDown takes the lab down and checks that nothing is left: no
// namespaces, no state, none of the processes it had started.
func checkDown(t *testing.T, l lab) {
	var pids []string
	if entries, err := os.ReadDir(filepath.Join(stateDir, "pids")); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(stateDir, "pids", e.Name())); err == nil {
				pids = append(pids, strings.TrimSpace(string(b)))
			}
		}
	}
	if len(pids) == 0 {
		t.Errorf("the lab recorded no processes before down")
	}
	l.must(t, "down")
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, prefix) {
			t.Errorf("lab down left namespace %s", line)
		}
	}
	if _, err := os.Stat(stateDir); err == nil {
		t.Errorf("lab down left %s", stateDir)
	}
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue // gone
		}
		// A zombie has ended; only its parent has yet to reap it.
		if s := string(stat); strings.Contains(s[strings.LastIndexByte(s, ')')+1:], " Z ") {
			continue
		}
		t.Errorf("lab down left process %s running: %s", pid, stat)
	}
	if _, err := os.Stat("/etc/netns/" + prefix + "jump"); err == nil {
		t.Errorf("lab down left /etc/netns/%sjump", prefix)
	}
}

// BenchmarkLabUp measures `lab up` from nothing (packages installed), the
// figure behind labUpBudget.
func BenchmarkLabUp(b *testing.B) {
	if why := labSkipReason(); why != "" {
		b.Skip(why)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		b.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "lab", "lab")
	run := func(arg string) {
		if out, err := exec.Command(script, arg).CombinedOutput(); err != nil {
			b.Fatalf("lab %s: %v\n%s", arg, err, out)
		}
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run("down")
		b.StartTimer()
		run("up")
	}
	b.StopTimer()
	run("down")
}

// Every scenario the lab can apply has assertions here: a new fault file
// without them would run unchecked.
func TestEveryScenarioIsAsserted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "scripts", "lab", "scenarios", "*.sh"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	asserted := map[string]bool{}
	for _, sc := range scenarios {
		asserted[sc.name] = true
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sh")
		if !asserted[name] {
			t.Errorf("scenario %s has no entry in scenarios", name)
		}
		if _, ok := signals[name]; !ok {
			t.Errorf("scenario %s has no lab signals", name)
		}
	}
}
