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
	// Kind is tcp, tls or http.
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
	Why    string
	Source string
}

// Inputs are the names the operator gave (or discovery found).
type Inputs struct {
	Service, Region, StorageAccount, SQLServer, KeyVault string
}

const (
	srcRef      = "azure-facts.md §1.1 (virtual-network-reference.md, 06/2025)"
	srcMonitor  = "azure-facts.md §1.2 (metrics and health monitoring FQDNs)"
	srcStatus   = "azure-facts.md §4.3 (NetworkStatus API examples)"
	srcHosts    = "azure-facts.md §3 (default host names)"
	srcKMS      = "azure-facts.md §1.4 (KMS endpoints)"
	srcValidate = "azure-facts.md §1.6 (validate before deploy)"
	srcClouds   = "azure-facts.md §10 (cloud cheat sheet)"
)

// Every mode, and the classic ones only.
var (
	allReq     = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true, probes.ModeV2Injected: true, probes.ModeV2Integrated: true}
	allOpt     = map[probes.Mode]bool{probes.ModeInternal: false, probes.ModeExternal: false, probes.ModeV2Injected: false, probes.ModeV2Integrated: false}
	classicReq = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true}
	classicOpt = map[probes.Mode]bool{probes.ModeInternal: false, probes.ModeExternal: false}
	// Key Vault: required for classic tiers (stv2) and for v2 outbound
	// integration (its newest NSG guidance lists AzureKeyVault 443); for v2
	// injection the docs list only Storage, so it is optional there.
	vaultReq = map[probes.Mode]bool{probes.ModeInternal: true, probes.ModeExternal: true, probes.ModeV2Injected: false, probes.ModeV2Integrated: true}
)

// Endpoints returns the catalogue for a cloud with the operator's names
// filled in. Host names that need an input not given keep a placeholder in
// angle brackets; the planner skips those with reason no-data.
func Endpoints(c Cloud, in Inputs) []Endpoint {
	or := func(v, placeholder string) string {
		if v == "" {
			return "<" + placeholder + ">"
		}
		return v
	}
	acct, sql, vault, svc := or(in.StorageAccount, "storage-account"), or(in.SQLServer, "sql-server"), or(in.KeyVault, "key-vault"), or(in.Service, "service")
	var eps []Endpoint
	add := func(e Endpoint) { eps = append(eps, e) }

	// Azure Storage: the validate-before-deploy procedure names blob and
	// table; NetworkStatus reports queue and file as optional.
	for _, s := range []struct {
		svc, rt string
		req     map[probes.Mode]bool
	}{{"blob", "BlobStorage", allReq}, {"table", "TableStorage", allReq}, {"queue", "Queue", allOpt}, {"file", "FileStorage", allOpt}} {
		add(Endpoint{
			ID: "outbound.storage." + s.svc, Title: "Azure Storage " + s.svc + " (HTTPS)", Category: "Azure Storage",
			ResourceType: s.rt, Kind: probes.KindTLS, Host: acct + "." + s.svc + "." + c.StorageSuffix, Port: 443,
			ServiceTag: "Storage", Regional: true, Needs: NeedsStorageAccount, Required: s.req,
			Why: "API Management keeps its configuration, logs and developer portal content in Azure Storage", Source: srcValidate,
		})
	}
	add(Endpoint{
		ID: "outbound.storage.file-smb", Title: "Azure Files over SMB (legacy Git share)", Category: "Azure Storage",
		ResourceType: "FileStorage", Kind: probes.KindTCP, Host: acct + ".file." + c.StorageSuffix, Port: 445,
		ServiceTag: "Storage", Regional: true, Needs: NeedsStorageAccount, Required: classicOpt, Legacy: true,
		Why: "legacy: the Git configuration share; dropped from the 2025 docs, still reported by the Network status API", Source: "azure-facts.md §1.3, §4.3",
	})
	add(Endpoint{
		ID: "outbound.sql", Title: "Azure SQL (TDS gateway)", Category: "Azure SQL", ResourceType: "SQLDatabase",
		Kind: probes.KindTCP, Host: sql + "." + c.SQLSuffix, Port: 1433, ServiceTag: "Sql", Regional: true,
		Needs: NeedsSQLServer, Required: classicReq,
		Why: "classic tiers keep the instance's state in Azure SQL", Source: srcRef,
	})
	add(Endpoint{
		ID: "outbound.keyvault", Title: "Azure Key Vault (HTTPS)", Category: "Azure Key Vault", ResourceType: "AzureKeyVault",
		Kind: probes.KindHTTP, Host: vault + "." + c.VaultSuffix, Port: 443,
		URL:    "https://" + vault + "." + c.VaultSuffix + "/secrets?api-version=7.4",
		Expect: ExpectVaultChallenge, ServiceTag: "AzureKeyVault", Regional: true, Needs: NeedsKeyVault, Required: vaultReq,
		Why: "certificates and named values kept in Key Vault are fetched from it", Source: srcRef,
	})

	// Azure Monitor.
	add(Endpoint{
		ID: "outbound.monitor.warmpath", Title: "Azure Monitor diagnostics (" + c.Warmpath + ")", Category: "Azure Monitor",
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
			ID: id, Title: "Azure Monitor metrics (" + h + ")", Category: "Azure Monitor", ResourceType: "Monitoring",
			Kind: probes.KindTLS, Host: h, Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "metrics and health monitoring", Source: srcMonitor,
		})
	}
	for _, h := range c.Metrics1886 {
		add(Endpoint{
			ID: "outbound.monitor." + monitorLabel(h) + ".1886", Title: "Azure Monitor health (" + h + ":1886)", Category: "Azure Monitor",
			ResourceType: "Metrics", Kind: probes.KindTLS, Host: h, Port: 1886, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "Resource Health reporting on TCP 1886 (RecoveryService)", Source: srcMonitor + "; " + srcStatus,
		})
	}
	add(Endpoint{
		ID: "outbound.monitor.ingestion", Title: "Azure Monitor ingestion (" + c.Ingestion + ")", Category: "Azure Monitor",
		ResourceType: "Monitoring", Kind: probes.KindTLS, Host: c.Ingestion, Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
		Why: "warm-path ingestion of diagnostics", Source: srcMonitor,
	})

	// Microsoft Entra ID and Graph (optional: needed for Entra sign-in to
	// the developer portal, managed identities and Key Vault auth).
	add(Endpoint{
		ID: "outbound.entra.login", Title: "Microsoft Entra ID (" + c.Login + ")", Category: "Microsoft Entra ID",
		ResourceType: "AzureActiveDirectory", Kind: probes.KindTLS, Host: c.Login, Port: 443, ServiceTag: "AzureActiveDirectory",
		Required: allOpt, Why: "Entra ID sign-in, managed identity and Key Vault authentication", Source: srcRef,
	})
	if c.RegionalLogin != "" {
		host := "<region>.login.microsoft.com"
		if in.Region != "" {
			host = fmt.Sprintf(c.RegionalLogin, strings.ToLower(in.Region))
		}
		add(Endpoint{
			ID: "outbound.entra.regional", Title: "Microsoft Entra ID regional endpoint", Category: "Microsoft Entra ID",
			ResourceType: "RegionalAzureActiveDirectory", Kind: probes.KindTLS, Host: host, Port: 443, ServiceTag: "AzureActiveDirectory",
			Needs: NeedsRegion, Required: allOpt, Why: "regional Entra ID endpoint", Source: srcRef,
		})
	}
	add(Endpoint{
		ID: "outbound.graph.metadata", Title: "Microsoft Graph $metadata", Category: "Microsoft Entra ID",
		ResourceType: "AzureActiveDirectory", Kind: probes.KindHTTP, Host: c.Graph, Port: 443,
		URL: "https://" + c.Graph + "/v1.0/$metadata", Expect: ExpectGraphMetadata, ServiceTag: "AzureActiveDirectory",
		Required: allOpt, Why: "Microsoft Graph, used for Entra ID integration of the developer portal", Source: srcRef + "; " + srcClouds,
	})

	// Certificate validation: CRL and OCSP over plain HTTP on port 80.
	// The 2025 doc also names csp.digicert.com; it is left out because no
	// other source knows that name (likely ocsp.digicert.com, which is here).
	for _, h := range []struct{ host, label string }{
		{"crl.microsoft.com", "crl-microsoft"}, {"mscrl.microsoft.com", "mscrl-microsoft"},
		{"oneocsp.microsoft.com", "oneocsp-microsoft"}, {"ocsp.msocsp.com", "ocsp-msocsp"},
		{"cacerts.digicert.com", "cacerts-digicert"}, {"crl3.digicert.com", "crl3-digicert"},
		{"ocsp.digicert.com", "ocsp-digicert"},
	} {
		add(Endpoint{
			ID: "outbound.certs." + h.label, Title: "Certificate validation (" + h.host + ":80)", Category: "Certificate validation",
			Kind: probes.KindHTTP, Host: h.host, Port: 80, URL: "http://" + h.host + "/", Expect: ExpectAnyHTTP,
			ServiceTag: "Internet", Required: classicReq,
			Why: "CRL and OCSP checks of Microsoft and customer certificates; blocking them breaks TLS in ways that look unrelated", Source: srcRef + "; " + srcStatus,
		})
	}

	// KMS (only when Windows VMs live in the subnet) for every cloud.
	for i, h := range c.KMS {
		id := "outbound.kms"
		if i > 0 {
			id += "." + strings.SplitN(h, ".", 2)[0]
		}
		add(Endpoint{
			ID: id, Title: "Azure KMS (" + h + ":1688)", Category: "Azure KMS", Kind: probes.KindTCP, Host: h, Port: 1688,
			ServiceTag: "Internet", Required: allOpt,
			Why: "Windows activation, needed only when Windows VMs share the subnet", Source: srcKMS,
		})
	}

	if c.PublicOnly {
		for _, h := range []struct{ host, label string }{{"client.hip.live.com", "client"}, {"partner.hip.live.com", "partner"}, {"partner.prod.repmap.microsoft.com", "repmap"}} {
			add(Endpoint{
				ID: "outbound.captcha." + h.label, Title: "Developer portal CAPTCHA (" + h.host + ")", Category: "CAPTCHA",
				ResourceType: "CaptchaEndpoint", Kind: probes.KindTLS, Host: h.host, Port: 443, ServiceTag: "Internet",
				Required: classicOpt, Why: "CAPTCHA of the developer portal's sign-up page", Source: srcRef + "; " + srcStatus,
			})
		}
		add(Endpoint{
			ID: "outbound.portal-diagnostics", Title: "Azure portal diagnostics (dc.services.visualstudio.com)", Category: "Azure Monitor",
			Kind: probes.KindTLS, Host: "dc.services.visualstudio.com", Port: 443, ServiceTag: "AzureMonitor", Required: classicOpt,
			Why: "the Azure portal's diagnostics extension", Source: srcRef,
		})
		add(Endpoint{
			ID: "outbound.smtp", Title: "SMTP relay (legacy, smtpi-co1.msn.com:25028)", Category: "Email",
			ResourceType: "Email", Kind: probes.KindTCP, Host: "smtpi-co1.msn.com", Port: 25028, ServiceTag: "Internet",
			Required: classicOpt, Legacy: true,
			Why: "legacy: notification e-mail relay; dropped from the docs, still reported by the Network status API", Source: "azure-facts.md §1.3, §4.3",
		})
	}

	// The instance's own endpoints, reached from the subnet after deployment.
	add(Endpoint{
		ID: "inbound.gateway", Title: "Gateway status endpoint", Category: "API Management",
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
			ID: h.id, Title: h.title, Category: "API Management", Kind: probes.KindTLS,
			Host: svc + "." + h.prefix + "." + c.APIMSuffix, Port: 443, Needs: NeedsService, Inbound: true,
			Required: classicOpt, Why: h.why, Source: srcHosts,
		})
	}
	return eps
}

// monitorLabel turns "shoebox2-red.prod.microsoftmetrics.com" into
// "shoebox2-red".
func monitorLabel(host string) string { return strings.SplitN(host, ".", 2)[0] }
