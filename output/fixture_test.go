package output

import (
	"sort"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// fixtureReport is a run with something of everything: required and
// optional checks that pass, warn, fail and skip, hints, evidence, phases,
// and a headline. Its time is fixed so golden files are stable.
func fixtureReport() *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          report.Tool{Name: "apimprobe", Version: "1.0.0", Commit: "3f2a1b9"},
		StartedAt:     time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		DurationMS:    5012,
		Context: report.Context{
			Hostname: "jumpbox-1", VMPrivateIP: "10.0.1.4", VMPublicIP: "198.51.100.20", Subnet: "10.0.1.0/24",
			Region: "westeurope", SubscriptionID: "00000000-0000-0000-0000-000000000000",
			ResourceGroup: "rg-apim", Cloud: "public", Service: "contoso", Mode: "internal",
			Phase: "post", InstancePrivateIP: "10.0.1.5", InstancePublicIP: "198.51.100.30",
			Resolvers:  []string{"10.0.0.4", "168.63.129.16"},
			Credential: "managed-identity",
			Sources:    map[string]string{"region": "imds", "subnet": "flag", "instance_private_ip": "arm"},
		},
		Checks: []report.Check{
			{
				ID: "dns.gateway", Title: "Gateway host name resolves to the private VIP", Category: "DNS",
				Required: true, Kind: "dns", Target: "contoso.azure-api.net",
				Status: probes.Pass, Reason: probes.ReasonOK, Message: "10.0.1.5 from 2 resolvers",
				DurationMS: 4, Phases: map[string]int64{"dns_ms": 4}, Addresses: []string{"10.0.1.5"},
				Evidence: map[string]any{"answers": map[string]any{"10.0.0.4": []any{"10.0.1.5"}, "168.63.129.16": []any{"10.0.1.5"}}},
			},
			{
				ID: "outbound.sql", Title: "Azure SQL (TDS gateway)", Category: "Azure SQL",
				Required: true, Kind: "tcp", Target: "myserver.database.windows.net:1433", ResourceType: "SQLDatabase",
				Status: probes.Fail, Reason: probes.ReasonTimeout, FailedPhase: probes.PhaseConnect,
				Message:    "no answer to TCP SYN within 5s",
				Hint:       "Allow outbound TCP 1433 to service tag Sql.westeurope in the subnet's NSG and firewall.",
				DurationMS: 5001, Phases: map[string]int64{"resolve_ms": 3, "connect_ms": 4998},
				Addresses: []string{"104.40.168.105"},
				// The instance reaches what this VM does not.
				// (as a report read back has it: plain JSON values).
				Evidence: map[string]any{"instance_status": []any{map[string]any{"location": "West Europe", "name": "myserver.database.windows.net",
					"resource_type": "SQLDatabase", "status": "success", "last_updated": "2026-11-21T09:52:00Z",
					"last_status_change": "2026-11-02T08:00:00Z", "optional": false}}},
			},
			{
				ID: "outbound.storage.blob", Title: "Azure Storage (blob)", Category: "Azure Storage",
				Required: true, Kind: "tls", Target: "mystorage.blob.core.windows.net:443", ResourceType: "BlobStorage",
				Status: probes.Pass, Reason: probes.ReasonOK, Message: "TLS 1.3 handshake, certificate valid for *.blob.core.windows.net",
				DurationMS: 38, Phases: map[string]int64{"resolve_ms": 2, "connect_ms": 9, "tls_ms": 27},
				Addresses: []string{"20.60.1.1"},
				// This VM reaches what the instance does not.
				Evidence: map[string]any{"instance_status": []any{map[string]any{"location": "West Europe", "name": "mystorage.blob.core.windows.net",
					"resource_type": "BlobStorage", "status": "failure", "error": "Connection timed out", "last_updated": "2026-11-21T09:52:00Z",
					"last_status_change": "2026-11-21T09:22:00Z", "optional": false}}},
			},
			{
				ID: "outbound.keyvault", Title: "Azure Key Vault", Category: "Azure Key Vault",
				Required: true, Kind: "tls", Target: "contoso-kv.vault.azure.net:443", ResourceType: "AzureKeyVault",
				Status: probes.Fail, Reason: probes.ReasonTLSIntercepted, FailedPhase: probes.PhaseTLS,
				Message: "certificate issued by \"Contoso Inspection CA\" | chain ends at a root that is not Azure's; " +
					"the proxy re-signed the certificate for contoso-kv.vault.azure.net and every other host name we asked for",
				Hint: "Exempt *.vault.azure.net from TLS inspection on the firewall (Azure Firewall Premium: add it to the " +
					"TLS inspection bypass list); API Management's machines do not trust the inspecting CA.",
				DurationMS: 61, Phases: map[string]int64{"resolve_ms": 1, "connect_ms": 8, "tls_ms": 52},
				Addresses: []string{"52.157.0.1"},
				Evidence:  map[string]any{"issuer": "CN=Contoso Inspection CA", "root": "CN=Contoso Root", "subject": "CN=*.vault.azure.net"},
			},
			{
				ID: "outbound.monitor.metrics", Title: "Azure Monitor metrics", Category: "Azure Monitor",
				Required: false, Kind: "tls", Target: "westeurope.monitoring.azure.com:443", ResourceType: "Metrics",
				Status: probes.Fail, Reason: probes.ReasonReset, FailedPhase: probes.PhaseTLS,
				Message:    "connection reset after ClientHello (SNI westeurope.monitoring.azure.com)",
				Hint:       "Allow westeurope.monitoring.azure.com on TCP 443 in the firewall's application rules, or service tag AzureMonitor in the NSG.",
				DurationMS: 12, Phases: map[string]int64{"resolve_ms": 1, "connect_ms": 6, "tls_ms": 5},
				Addresses: []string{"20.50.1.1"},
			},
			{
				ID: "route.egress-ip", Title: "Internet egress leaves through Azure", Category: "Routing",
				Required: false, Kind: "http", Target: "https://echo.example/ip",
				Status: probes.Warn, Reason: probes.ReasonForcedTunnel, FailedPhase: probes.PhaseAnalysis,
				Message:    "egress address 203.0.113.7 is outside the AzureCloud service tag\nand outside --expect-egress",
				Hint:       "If forced tunnelling is intended, add a route for service tag ApiManagement to Internet; otherwise remove the 0.0.0.0/0 route to the appliance.",
				DurationMS: 220, Evidence: map[string]any{"egress_ip": "203.0.113.7"},
			},
			{
				ID: "subnet.nsg.inbound-3443", Title: "NSG allows management traffic on 3443", Category: "Subnet",
				Required: true, Kind: "analysis", Target: "ApiManagement -> VirtualNetwork:3443",
				Status: probes.Skip, Reason: probes.ReasonNotObservable,
				Message: "inbound NSG rules cannot be seen from inside the VM without Resource Manager",
				Hint:    "In the portal, check the subnet's NSG has an inbound allow from service tag ApiManagement to VirtualNetwork on TCP 3443.",
			},
			{
				ID: "outbound.captcha", Title: "CAPTCHA endpoint", Category: "CAPTCHA",
				Required: false, Kind: "tls", Target: "partner.prod.repmap.microsoft.com:443", ResourceType: "CaptchaEndpoint",
				Status: probes.Skip, Reason: probes.ReasonNotApplicable, Message: "developer portal CAPTCHA is not used in mode internal",
			},
		},
	}
	// As report.FromOutcomes leaves them.
	sort.Slice(r.Checks, func(i, j int) bool { return r.Checks[i].ID < r.Checks[j].ID })
	r.Summary = report.Summarize(r.Checks)
	r.Summary.Headline = "Traffic is forced through an appliance that inspects TLS: fix the route or the inspection bypass first."
	r.Findings = []report.Finding{{
		ID: "tls.inspection", Severity: report.SeverityBlocking,
		Title:  "The appliance at 10.0.0.4 inspects TLS to Azure",
		Cause:  "A firewall re-signs the certificates of contoso-kv.vault.azure.net with \"Contoso Inspection CA\", which API Management does not trust.",
		Checks: []string{"outbound.keyvault", "route.egress-ip"},
		Fix: report.Fix{Summary: "Exempt *.vault.azure.net from TLS inspection on the firewall.",
			Commands: []string{"az network route-table route create --resource-group rg-apim --route-table-name rt-apim --name ApiManagement --address-prefix ApiManagement --next-hop-type Internet"}},
	}, {
		ID: "context.arm-unreadable", Severity: report.SeverityInfo, Title: "Resource Manager not read: 1 analysis not judged",
		Cause: "Resource Manager is not used (--no-arm).", Checks: []string{"subnet.nsg.inbound-3443"},
		Fix: report.Fix{Summary: "Run without --no-arm.", Commands: []string{"az role assignment create --assignee <principal-id> --role Reader"}},
	}}
	return r
}

// fixturePlan is a plan with probes, a preset skip and a long why.
func fixturePlan() []probes.Check {
	noop := probes.ProbeFunc(nil)
	return []probes.Check{
		{ID: "outbound.sql", Title: "Azure SQL (TDS gateway)", Category: "Azure SQL", Facets: probes.Facets{ResourceType: "SQLDatabase"},
			Required: true, Kind: "tcp", Target: probes.HostPort("myserver.database.windows.net", 1433),
			Why:    "API Management stores its configuration in Azure SQL; without port 1433 the instance cannot start or apply changes.",
			Source: "https://learn.microsoft.com/azure/api-management/virtual-network-reference", Probe: noop},
		{ID: "dns.gateway", Title: "Gateway host name", Category: "DNS", Required: true, Kind: "dns",
			Target: probes.Name("contoso.azure-api.net"), Why: "Clients in the VNet reach the gateway by name.", Probe: noop},
		{ID: "outbound.storage.table", Title: "Azure Storage (table)", Category: "Azure Storage", Facets: probes.Facets{ResourceType: "TableStorage"},
			Required: true, Kind: "tls", Target: probes.URLTarget("https://unknown.table.core.windows.net/"),
			Why: "Metrics and state tables.",
			Preset: &probes.Result{Status: probes.Skip, Reason: probes.ReasonNoData, Message: "no storage account given",
				Hint: "Pass --storage-account NAME with an account of yours in the region."}},
		{ID: "outbound.monitor.metrics", Title: "Azure Monitor metrics", Category: "Azure Monitor", Facets: probes.Facets{ResourceType: "Metrics"},
			Required: false, Kind: "tls", Target: probes.HostPort("westeurope.monitoring.azure.com", 443),
			Why: "Gateway metrics | published to Azure Monitor.", Probe: noop},
	}
}
