package catalog

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Needs names the input an endpoint's host name is built from.
type Needs string

const (
	NeedsNothing        Needs = ""
	NeedsStorageAccount Needs = "storage-account"
	NeedsSQLServer      Needs = "sql-server"
	NeedsKeyVault       Needs = "key-vault"
	NeedsService        Needs = "service"
	NeedsRegion         Needs = "region"
	NeedsEventHub       Needs = "event-hub"
)

// Expectation names how an HTTP answer is judged.
type Expectation string

const (
	ExpectNone           Expectation = ""
	ExpectGraphMetadata  Expectation = "graph-metadata"  // 200 with an EDMX document
	ExpectVaultChallenge Expectation = "vault-challenge" // 401 with a Bearer challenge
	ExpectGatewayStatus  Expectation = "gateway-status"  // 200
	ExpectAnyHTTP        Expectation = "any-http"        // any answer from an HTTP server
)

// Endpoint is one dependency: where it is, how it is probed, and why.
type Endpoint struct {
	ID           string
	Title        string
	Category     string
	ResourceType string
	// Dependency is the family the endpoint belongs to (its id's second
	// word): the route and path checks of the family carry the same.
	Dependency probes.Dependency
	// Kind is tcp, tls, http or ntp.
	Kind probes.Kind
	Host string
	Port int
	// URL, for http endpoints.
	URL    string
	Expect Expectation
	// ServiceTag is the NSG/UDR service tag that covers the host, "Internet"
	// where none does; Regional says the tag has regional forms (Sql.westeurope).
	ServiceTag string
	Regional   bool
	Needs      Needs
	// Required per mode; a mode missing from the map makes the endpoint
	// not applicable there.
	Required map[probes.Mode]bool
	// Inbound endpoints belong to the instance and exist only after
	// deployment (phase post).
	Inbound bool
	// Legacy marks entries the current docs dropped but APIM's NetworkStatus
	// API still reports.
	Legacy bool
	// ReachOnly: the TLS handshake is the test, not the chain. Windows'
	// own services (Windows Update, Defender, the CRL hosts on 443) chain
	// to Microsoft roots that Linux trust stores do not hold, and no Azure
	// root set covers them: judging their chain here would fail them on a
	// VM where API Management's Windows machines get through.
	ReachOnly bool
	// Unobservable, when set, says why the flow cannot be probed from here
	// (the documents name a port but no destination): the check is a skip
	// with reason not-observable whose hint names the rule to make.
	Unobservable string
	Why          string
	Source       string
}

// Inputs are the names the operator gave (or discovery found).
type Inputs struct {
	Service, Region, StorageAccount, SQLServer, KeyVault, EventHub string
}

const (
	srcRef      = "learn.microsoft.com/azure/api-management/virtual-network-reference (06/2025)"
	srcMonitor  = "learn.microsoft.com/azure/api-management/virtual-network-reference (metrics and health monitoring, 06/2025)"
	srcStatus   = "github.com/Azure/azure-rest-api-specs apimanagement 2024-05-01 apimnetworkstatus.json (its examples)"
	srcHosts    = "learn.microsoft.com/azure/api-management/api-management-using-with-internal-vnet (DNS configuration: the default host names)"
	srcKMS      = "learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/custom-routes-enable-kms-activation"
	srcValidate = "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-troubleshooting.md (validate before deploy)"
	srcClouds   = "learn.microsoft.com/azure/azure-government/compare-azure-government-global-azure; docs.azure.cn (the sovereign clouds' endpoints)"
	srcInfra    = "learn.microsoft.com/azure/api-management/virtual-network-reference (internal infrastructure and diagnostics, 06/2025)"
	srcTLS      = "learn.microsoft.com/azure/api-management/virtual-network-reference (TLS functionality: ports 80 and 443, 06/2025)"
	// An endpoint the 2025 reference dropped that NetworkStatus still reports.
	srcLegacy = "learn.microsoft.com/azure/api-management/virtual-network-reference (its 2023 revision); " +
		"github.com/Azure/azure-rest-api-specs apimanagement 2024-05-01 apimnetworkstatus.json (its examples)"
	srcV2 = "github.com/MicrosoftDocs/azure-docs includes/api-management-virtual-network-v2-nsg-rules.md (12/2025)"
	// Documents that name a concrete host where the reference gives none
	// or a wildcard.
	srcTimeSync = "learn.microsoft.com/azure/virtual-machines/windows/time-sync (time.windows.com, the Windows default)"
	srcWinEP    = "learn.microsoft.com/windows/privacy/manage-windows-21h2-endpoints"
	srcWinEP19  = "learn.microsoft.com/windows/privacy/windows-endpoints-1903-non-enterprise-editions"
	srcEHKafka  = "learn.microsoft.com/azure/event-hubs/apache-kafka-migration-guide (national clouds' servicebus domains)"
)

// Every mode, and the classic ones only.
var (
	allReq     = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true, probes.ModeV2Injected: true, probes.ModeV2Integrated: true}
	allOpt     = map[probes.Mode]bool{probes.ModeInternal: false, probes.ModeExternal: false, probes.ModeV2Injected: false, probes.ModeV2Integrated: false}
	classicReq = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true}
	classicOpt = map[probes.Mode]bool{probes.ModeInternal: false, probes.ModeExternal: false}
	// Key Vault 443 is required in every mode: classic tiers (stv2), and
	// both v2 models, whose newest NSG guidance lists AzureKeyVault 443
	// (azure-facts.md §11.5).
	vaultReq = allReq
	// Storage 443: required for classic tiers and v2 injection; the v2
	// outbound integration guidance lists Key Vault only (§11.5).
	storageReq = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true, probes.ModeV2Injected: true, probes.ModeV2Integrated: false}
)

// Endpoints returns the catalogue for a cloud with the operator's names
// filled in. Host names that need an input not given keep a placeholder in
// angle brackets; the planner skips those with reason no-data.
//
// Long because it is the catalogue itself, one entry per dependency in the
// order the documentation lists them, each with its source: read top to
// bottom beside the docs, a table split across functions would hide which
// entry is where.
func Endpoints(c Cloud, in Inputs) []Endpoint {
	or := func(v, placeholder string) string {
		if v == "" {
			return "<" + placeholder + ">"
		}
		return v
	}
	acct, sql, vault, svc := or(in.StorageAccount, "storage-account"), or(in.SQLServer, "sql-server"), or(in.KeyVault, "key-vault"), or(in.Service, "service")
	eh := or(in.EventHub, "event-hub")
	var eps []Endpoint
	add := func(e Endpoint) { eps = append(eps, e) }

	// Azure Storage: the validate-before-deploy procedure names blob and
	// table; NetworkStatus reports queue and file as optional.
	for _, s := range []struct {
		svc, rt, src string
		req          map[probes.Mode]bool
	}{{"blob", "BlobStorage", srcValidate + "; " + srcV2, storageReq}, {"table", "TableStorage", srcValidate + "; " + srcV2, storageReq},
		{"queue", "Queue", srcValidate, allOpt}, {"file", "FileStorage", srcValidate, allOpt}} {
		add(Endpoint{
			ID: "outbound.storage." + s.svc, Dependency: probes.DepStorage, Title: "Azure Storage " + s.svc + " (HTTPS)", Category: "Azure Storage",
			ResourceType: s.rt, Kind: probes.KindTLS, Host: acct + "." + s.svc + "." + c.StorageSuffix, Port: 443,
			ServiceTag: "Storage", Regional: true, Needs: NeedsStorageAccount, Required: s.req,
			Why: "API Management keeps its configuration, logs and developer portal content in Azure Storage", Source: s.src,
		})
	}
	add(Endpoint{
		ID: "outbound.storage.file-smb", Dependency: probes.DepStorage, Title: "Azure Files over SMB (legacy Git share)", Category: "Azure Storage",
		ResourceType: "FileStorage", Kind: probes.KindTCP, Host: acct + ".file." + c.StorageSuffix, Port: 445,
		ServiceTag: "Storage", Regional: true, Needs: NeedsStorageAccount, Required: classicOpt, Legacy: true,
		Why: "legacy: the Git configuration share; dropped from the 2025 docs, still reported by the Network status API", Source: srcLegacy,
	})
	add(Endpoint{
		ID: "outbound.sql", Dependency: probes.DepSQL, Title: "Azure SQL (TDS gateway)", Category: "Azure SQL", ResourceType: "SQLDatabase",
		Kind: probes.KindTCP, Host: sql + "." + c.SQLSuffix, Port: 1433, ServiceTag: "Sql", Regional: true,
		Needs: NeedsSQLServer, Required: classicReq,
		Why: "classic tiers keep the instance's state in Azure SQL", Source: srcRef,
	})
	add(Endpoint{
		ID: "outbound.keyvault", Dependency: probes.DepKeyVault, Title: "Azure Key Vault (HTTPS)", Category: "Azure Key Vault", ResourceType: "AzureKeyVault",
		Kind: probes.KindHTTP, Host: vault + "." + c.VaultSuffix, Port: 443,
		URL:    "https://" + vault + "." + c.VaultSuffix + "/secrets?api-version=7.4",
		Expect: ExpectVaultChallenge, ServiceTag: "AzureKeyVault", Regional: true, Needs: NeedsKeyVault, Required: vaultReq,
		Why: "certificates and named values kept in Key Vault are fetched from it", Source: srcRef + "; " + srcV2,
	})

	// Azure Event Hubs (the log-to-eventhub policy): AMQP over TLS on 5671,
	// plain AMQP on 5672 and HTTPS (and AMQP over WebSockets) on 443.
	for _, p := range []struct {
		id, title string
		kind      probes.Kind
		port      int
	}{
		{"outbound.eventhub", "Azure Event Hubs (HTTPS)", probes.KindTLS, 443},
		{"outbound.eventhub.amqps", "Azure Event Hubs (AMQP over TLS, 5671)", probes.KindTLS, 5671},
		{"outbound.eventhub.amqp", "Azure Event Hubs (AMQP, 5672)", probes.KindTCP, 5672},
	} {
		add(Endpoint{
			ID: p.id, Dependency: probes.DepEventHub, Title: p.title, Category: "Azure Event Hubs", Kind: p.kind, Host: eh + "." + c.EventHubSuffix, Port: p.port,
			ServiceTag: "EventHub", Regional: true, Needs: NeedsEventHub, Required: allOpt,
			Why: "the log-to-eventhub policy and Azure Monitor logs sent to Event Hubs", Source: srcRef + "; " + srcStatus + "; " + srcClouds + "; " + srcEHKafka,
		})
	}

	// Azure Monitor.
	add(Endpoint{
		ID: "outbound.monitor.warmpath", Dependency: probes.DepMonitor, Title: "Azure Monitor diagnostics (" + c.Warmpath + ")", Category: "Azure Monitor",
		ResourceType: "Monitoring", Kind: probes.KindTLS, Host: c.Warmpath, Port: 443, ServiceTag: "AzureMonitor",
		Required: classicReq, Why: "diagnostic logs and metrics leave through this endpoint", Source: srcMonitor,
	})
	for _, h := range c.Metrics {
		label := monitorLabel(h)
		id := "outbound.monitor." + label
		if h == "global.prod.microsoftmetrics.com" {
			id, label = "outbound.monitor.metrics", "global metrics"
		}
		add(Endpoint{
			ID: id, Dependency: probes.DepMonitor, Title: "Azure Monitor metrics (" + h + ")", Category: "Azure Monitor", ResourceType: "Monitoring",
			Kind: probes.KindTLS, Host: h, Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "metrics and health monitoring", Source: srcMonitor,
		})
	}
	for _, h := range c.Metrics1886 {
		add(Endpoint{
			ID: "outbound.monitor." + monitorLabel(h) + ".1886", Dependency: probes.DepMonitor, Title: "Azure Monitor health (" + h + ":1886)", Category: "Azure Monitor",
			ResourceType: "Metrics", Kind: probes.KindTLS, Host: h, Port: 1886, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "Resource Health reporting on TCP 1886 (RecoveryService)", Source: srcMonitor + "; " + srcStatus,
		})
	}
	add(Endpoint{
		ID: "outbound.monitor.ingestion", Dependency: probes.DepMonitor, Title: "Azure Monitor ingestion (" + c.Ingestion + ")", Category: "Azure Monitor",
		ResourceType: "Monitoring", Kind: probes.KindTLS, Host: c.Ingestion, Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
		Why: "warm-path ingestion of diagnostics", Source: srcMonitor,
	})

	// Microsoft Entra ID and Graph (optional: needed for Entra sign-in to
	// the developer portal, managed identities and Key Vault auth).
	add(Endpoint{
		ID: "outbound.entra.login", Dependency: probes.DepEntra, Title: "Microsoft Entra ID (" + c.Login + ")", Category: "Microsoft Entra ID",
		ResourceType: "AzureActiveDirectory", Kind: probes.KindTLS, Host: c.Login, Port: 443, ServiceTag: "AzureActiveDirectory",
		Required: allOpt, Why: "Entra ID sign-in, managed identity and Key Vault authentication", Source: srcRef,
	})
	if c.RegionalLogin != "" {
		host := "<region>.login.microsoft.com"
		if in.Region != "" {
			host = fmt.Sprintf(c.RegionalLogin, strings.ToLower(in.Region))
		}
		add(Endpoint{
			ID: "outbound.entra.regional", Dependency: probes.DepEntra, Title: "Microsoft Entra ID regional endpoint", Category: "Microsoft Entra ID",
			ResourceType: "RegionalAzureActiveDirectory", Kind: probes.KindTLS, Host: host, Port: 443, ServiceTag: "AzureActiveDirectory",
			Needs: NeedsRegion, Required: allOpt, Why: "regional Entra ID endpoint", Source: srcRef,
		})
	}
	if c.LegacyLogin != "" {
		add(Endpoint{
			ID: "outbound.entra.login-windows", Dependency: probes.DepEntra, Title: "Microsoft Entra ID (" + c.LegacyLogin + ")", Category: "Microsoft Entra ID",
			ResourceType: "AzureActiveDirectory", Kind: probes.KindTLS, Host: c.LegacyLogin, Port: 443, ServiceTag: "AzureActiveDirectory",
			Required: allOpt, Why: "Entra ID's older login host, which the instance's own Network status still probes", Source: srcStatus,
		})
	}
	add(Endpoint{
		ID: "outbound.graph.metadata", Dependency: probes.DepGraph, Title: "Microsoft Graph $metadata", Category: "Microsoft Entra ID",
		ResourceType: "AzureActiveDirectory", Kind: probes.KindHTTP, Host: c.Graph, Port: 443,
		URL: "https://" + c.Graph + "/v1.0/$metadata", Expect: ExpectGraphMetadata, ServiceTag: "AzureActiveDirectory",
		Required: allOpt, Why: "Microsoft Graph, used for Entra ID integration of the developer portal", Source: srcRef + "; " + srcClouds,
	})

	// Certificate validation: CRL and OCSP over plain HTTP on port 80, and
	// the same hosts on 443 (the 2025 reference and the instance's own
	// dependency list both say 80 and 443).
	// The 2025 doc also names csp.digicert.com; it is left out because no
	// other source knows that name (likely ocsp.digicert.com, which is here).
	// The HTTPS ids (outbound.certs.https.*) use the shortest unambiguous
	// label, so that ids stay whole in a 100-column table.
	for _, h := range []struct{ host, label, https string }{
		{"crl.microsoft.com", "crl-microsoft", "crl"}, {"mscrl.microsoft.com", "mscrl-microsoft", "mscrl"},
		{"oneocsp.microsoft.com", "oneocsp-microsoft", "oneocsp"}, {"ocsp.msocsp.com", "ocsp-msocsp", "ocsp-msocsp"},
		{"cacerts.digicert.com", "cacerts-digicert", "cacerts"}, {"crl3.digicert.com", "crl3-digicert", "crl3"},
		{"ocsp.digicert.com", "ocsp-digicert", "ocsp-digicert"},
	} {
		why := "CRL and OCSP checks of Microsoft and customer certificates; blocking them breaks TLS in ways that look unrelated"
		add(Endpoint{
			ID: "outbound.certs." + h.label, Dependency: probes.DepCerts, Title: "Certificate validation (" + h.host + ":80)", Category: "Certificate validation",
			Kind: probes.KindHTTP, Host: h.host, Port: 80, URL: "http://" + h.host + "/", Expect: ExpectAnyHTTP,
			ServiceTag: "Internet", Required: classicReq, Why: why, Source: srcRef + "; " + srcStatus,
		})
		add(Endpoint{
			ID: "outbound.certs.https." + h.https, Dependency: probes.DepCerts, Title: "Certificate validation (" + h.host + ":443)", Category: "Certificate validation",
			Kind: probes.KindTLS, Host: h.host, Port: 443, ServiceTag: "Internet", Required: classicReq, ReachOnly: true,
			Why: why + " (over HTTPS)", Source: srcTLS + "; " + srcStatus,
		})
	}

	infra(add)

	// KMS (only when Windows VMs live in the subnet) for every cloud.
	for i, h := range c.KMS {
		id := "outbound.kms"
		if i > 0 {
			id += "." + strings.SplitN(h, ".", 2)[0]
		}
		add(Endpoint{
			ID: id, Dependency: probes.DepKMS, Title: "Azure KMS (" + h + ":1688)", Category: "Azure KMS", Kind: probes.KindTCP, Host: h, Port: 1688,
			ServiceTag: "Internet", Required: allOpt,
			Why: "Windows activation, needed only when Windows VMs share the subnet", Source: srcKMS,
		})
	}

	if c.PublicOnly {
		for _, h := range []struct{ host, label string }{{"client.hip.live.com", "client"}, {"partner.hip.live.com", "partner"}, {"partner.prod.repmap.microsoft.com", "repmap"}} {
			add(Endpoint{
				ID: "outbound.captcha." + h.label, Dependency: probes.DepCaptcha, Title: "Developer portal CAPTCHA (" + h.host + ")", Category: "CAPTCHA",
				ResourceType: "CaptchaEndpoint", Kind: probes.KindTLS, Host: h.host, Port: 443, ServiceTag: "Internet",
				Required: classicOpt, Why: "CAPTCHA of the developer portal's sign-up page", Source: srcRef + "; " + srcStatus,
			})
		}
		add(Endpoint{
			ID: "outbound.portal-diagnostics", Dependency: probes.DepPortalDiag, Title: "Azure portal diagnostics (dc.services.visualstudio.com)", Category: "Azure Monitor",
			Kind: probes.KindTLS, Host: "dc.services.visualstudio.com", Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "the Azure portal's diagnostics extension", Source: srcRef,
		})
		add(Endpoint{
			ID: "outbound.smtp", Dependency: probes.DepSMTP, Title: "SMTP relay (legacy, smtpi-co1.msn.com:25028)", Category: "Email",
			ResourceType: "Email", Kind: probes.KindTCP, Host: "smtpi-co1.msn.com", Port: 25028, ServiceTag: "Internet",
			Required: classicOpt, Legacy: true,
			Why: "legacy: notification e-mail relay; dropped from the docs, still reported by the Network status API", Source: srcLegacy,
		})
	}

	// The instance's own endpoints, reached from the subnet after deployment.
	add(Endpoint{
		ID: "inbound.gateway", Dependency: probes.DepAPIManagement, Title: "Gateway status endpoint", Category: "API Management",
		Kind: probes.KindHTTP, Host: svc + "." + c.APIMSuffix, Port: 443,
		URL:    "https://" + svc + "." + c.APIMSuffix + "/status-0123456789abcdef",
		Expect: ExpectGatewayStatus, Needs: NeedsService, Inbound: true,
		Required: map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true, probes.ModeV2Injected: true},
		Why:      "the gateway's health endpoint must answer 200 from inside the VNet", Source: srcHosts,
	})
	for _, h := range []struct{ id, prefix, title, why string }{
		{"inbound.management", "management", "Direct management endpoint", "the instance's direct management API, reached from inside the VNet"},
		{"inbound.developer-portal", "developer", "Developer portal", "the instance's developer portal, reached from inside the VNet"},
		{"inbound.scm", "scm", "Git (SCM) endpoint", "the instance's Git configuration repository, reached from inside the VNet"},
	} {
		add(Endpoint{
			ID: h.id, Dependency: probes.DepAPIManagement, Title: h.title, Category: "API Management", Kind: probes.KindTLS,
			Host: svc + "." + h.prefix + "." + c.APIMSuffix, Port: 443, Needs: NeedsService, Inbound: true,
			Required: classicOpt, Why: h.why, Source: srcHosts,
		})
	}
	return eps
}

// infra adds the "internal infrastructure and diagnostics" dependencies
// that the 2025 reference calls required to maintain API Management's
// compute (classic tiers; the v2 documents do not list them). They are
// Microsoft's global services, the same in every cloud as far as the
// reference says. Where it gives no host or a wildcard, a host another
// Microsoft document names stands in, and the entry says so.
func infra(add func(Endpoint)) {
	add(Endpoint{
		ID: "outbound.infra.ntp", Dependency: probes.DepInfra, Title: "Time (NTP, time.windows.com, UDP 123)", Category: "Internal infrastructure",
		Kind: probes.KindNTP, Host: "time.windows.com", Port: probes.NTPPort, ServiceTag: "Internet", Required: classicReq,
		Why:    "time synchronisation of API Management's machines; the reference names UDP 123 but no server, so the Windows default time.windows.com stands in",
		Source: srcInfra + "; " + srcTimeSync,
	})
	add(Endpoint{
		ID: "outbound.infra.diagnostics", Dependency: probes.DepInfra, Title: "Internal diagnostics (TCP 12000)", Category: "Internal infrastructure",
		Kind: probes.KindTCP, Port: 12000, ServiceTag: "AzureCloud", Required: classicReq,
		Unobservable: "the reference names outbound TCP 12000 for diagnostics but no destination, so there is nothing to connect to from here",
		Why:          "diagnostics of API Management's internal compute; the reference gives the port, not the destination",
		Source:       srcInfra + "; its 2023 revision (the stv1 table: AzureCloud 443 and 12000)",
	})
	for _, h := range []struct{ id, host, title, why, src string }{
		{"outbound.infra.watson", "azurewatsonanalysis-prod.core.windows.net", "Internal diagnostics (crash analysis)", "internal diagnostics of API Management's compute", srcInfra},
		{"outbound.infra.telemetry", "v10.events.data.microsoft.com", "Internal diagnostics (*.data.microsoft.com)",
			"internal diagnostics; the reference gives *.data.microsoft.com, probed at v10.events.data.microsoft.com (Windows diagnostic data)", srcInfra + "; " + srcWinEP},
		{"outbound.infra.profiler", "azureprofiler.trafficmanager.net", "Internal diagnostics (profiler)", "internal diagnostics of API Management's compute", srcInfra},
		{"outbound.infra.manifest-azurecdn", "shavamanifestazurecdnprod1.azureedge.net", "Internal diagnostics (manifest CDN)", "internal diagnostics of API Management's compute", srcInfra},
		{"outbound.infra.manifest-cdn", "shavamanifestcdnprod1.azureedge.net", "Internal diagnostics (manifest CDN)", "internal diagnostics of API Management's compute", srcInfra},
		{"outbound.infra.pki", "issuer.pki.azure.com", "Internal PKI (issuer.pki.azure.com)", "Azure's internal PKI, which issues the machines' certificates", srcInfra},
		{"outbound.infra.defender", "wdcp.microsoft.com", "Windows Defender (wdcp.microsoft.com)", "Windows Defender cloud-based protection of API Management's machines", srcInfra},
		{"outbound.infra.defender-alt", "wdcpalt.microsoft.com", "Windows Defender (wdcpalt.microsoft.com)", "Windows Defender cloud-based protection of API Management's machines", srcInfra},
	} {
		add(Endpoint{
			ID: h.id, Dependency: probes.DepInfra, Title: h.title, Category: "Internal infrastructure", Kind: probes.KindTLS, Host: h.host, Port: 443,
			ServiceTag: "Internet", Required: classicReq, ReachOnly: true, Why: h.why, Source: h.src,
		})
	}
	// Windows Update and go.microsoft.com: ports 80 and 443.
	for _, h := range []struct{ id, host, title, why, src string }{
		{"outbound.infra.update", "sls.update.microsoft.com", "Windows Update (*.update.microsoft.com)",
			"Windows Update of API Management's machines; the reference gives *.update.microsoft.com, probed at sls.update.microsoft.com (Windows Update's service locator)", srcInfra + "; " + srcWinEP19},
		{"outbound.infra.update-ctldl", "ctldl.windowsupdate.com", "Windows Update (ctldl.windowsupdate.com)",
			"Windows Update's certificate trust lists; stands in for *.ctldl.windowsupdate.com too", srcInfra + "; " + srcWinEP},
		{"outbound.infra.update-download", "download.windowsupdate.com", "Windows Update (download.windowsupdate.com)",
			"Windows Update downloads for API Management's machines", srcInfra},
		{"outbound.infra.go-microsoft", "go.microsoft.com", "Microsoft link redirector (go.microsoft.com)",
			"Microsoft's forward-link service, which Windows Defender's definition updates go through", srcInfra + "; " + srcWinEP},
	} {
		add(Endpoint{
			ID: h.id, Dependency: probes.DepInfra, Title: h.title + " HTTPS", Category: "Internal infrastructure", Kind: probes.KindTLS, Host: h.host, Port: 443,
			ServiceTag: "Internet", Required: classicReq, ReachOnly: true, Why: h.why, Source: h.src,
		})
		add(Endpoint{
			ID: h.id + ".80", Dependency: probes.DepInfra, Title: h.title + " HTTP", Category: "Internal infrastructure", Kind: probes.KindHTTP, Host: h.host, Port: 80,
			URL: "http://" + h.host + "/", Expect: ExpectAnyHTTP, ServiceTag: "Internet", Required: classicReq, Why: h.why + " (over HTTP)", Source: h.src,
		})
	}
}

// monitorLabel turns "shoebox2-red.prod.microsoftmetrics.com" into
// "shoebox2-red".
func monitorLabel(host string) string { return strings.SplitN(host, ".", 2)[0] }
