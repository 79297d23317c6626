// Package catalog is the one table of what API Management depends on — host
// names, ports, service tags, required or optional, per cloud and mode, each
// entry naming the document it comes from — and the planner that turns it
// into the checks of a run.
package catalog

import "github.com/apimprobe/apimprobe/probes"

// Cloud holds the host-name suffixes and per-cloud host lists of one Azure
// cloud (azure-facts.md §1.2, §3, §10).
type Cloud struct {
	Name          probes.Cloud
	StorageSuffix string
	SQLSuffix     string
	VaultSuffix   string
	APIMSuffix    string
	Login         string
	// LegacyLogin is the older Entra ID login host that APIM's own
	// NetworkStatus still probes ("" where none is documented).
	LegacyLogin string
	// RegionalLogin is the pattern of the regional Entra endpoint, "" where
	// none is documented.
	RegionalLogin string
	Graph         string
	// EventHubSuffix is the Event Hubs namespaces' domain.
	EventHubSuffix string
	KMS            []string
	// Warmpath is the required Azure Monitor endpoint; Metrics the others.
	Warmpath string
	Metrics  []string
	// Metrics1886 are the metrics hosts also reached on TCP 1886.
	Metrics1886 []string
	Ingestion   string
	// Public-cloud-only hosts (CAPTCHA, portal diagnostics, legacy SMTP):
	// no national-cloud names are documented.
	PublicOnly bool
}

var clouds = map[probes.Cloud]Cloud{
	probes.CloudPublic: {
		Name: probes.CloudPublic, StorageSuffix: "core.windows.net", SQLSuffix: "database.windows.net",
		VaultSuffix: "vault.azure.net", APIMSuffix: "azure-api.net",
		Login: "login.microsoftonline.com", RegionalLogin: "%s.login.microsoft.com", LegacyLogin: "login.windows.net",
		Graph: "graph.microsoft.com", EventHubSuffix: "servicebus.windows.net", KMS: []string{"kms.core.windows.net", "azkms.core.windows.net"},
		Warmpath: "gcs.prod.monitoring.core.windows.net",
		Metrics: []string{"global.prod.microsoftmetrics.com", "shoebox2.prod.microsoftmetrics.com",
			"shoebox2-red.prod.microsoftmetrics.com", "shoebox2-black.prod.microsoftmetrics.com",
			"prod3.prod.microsoftmetrics.com", "prod3-black.prod.microsoftmetrics.com",
			"prod3-red.prod.microsoftmetrics.com"},
		Metrics1886: []string{"prod3.prod.microsoftmetrics.com", "prod3-black.prod.microsoftmetrics.com",
			"prod3-red.prod.microsoftmetrics.com"},
		Ingestion:  "gcs.prod.warm.ingestion.monitoring.azure.com",
		PublicOnly: true,
	},
	probes.CloudUSGov: {
		Name: probes.CloudUSGov, StorageSuffix: "core.usgovcloudapi.net", SQLSuffix: "database.usgovcloudapi.net",
		VaultSuffix: "vault.usgovcloudapi.net", APIMSuffix: "azure-api.us",
		Login: "login.microsoftonline.us", Graph: "graph.microsoft.us", EventHubSuffix: "servicebus.usgovcloudapi.net",
		KMS:      []string{"kms.core.usgovcloudapi.net"},
		Warmpath: "fairfax.warmpath.usgovcloudapi.net",
		Metrics: []string{"global.prod.microsoftmetrics.com", "shoebox2.prod.microsoftmetrics.com",
			"shoebox2-red.prod.microsoftmetrics.com", "shoebox2-black.prod.microsoftmetrics.com",
			"prod3.prod.microsoftmetrics.com", "prod3-black.prod.microsoftmetrics.com",
			"prod3-red.prod.microsoftmetrics.com", "prod5.prod.microsoftmetrics.com",
			"prod5-black.prod.microsoftmetrics.com", "prod5-red.prod.microsoftmetrics.com"},
		Metrics1886: []string{"prod3.prod.microsoftmetrics.com", "prod3-black.prod.microsoftmetrics.com",
			"prod3-red.prod.microsoftmetrics.com", "prod5.prod.microsoftmetrics.com",
			"prod5-black.prod.microsoftmetrics.com", "prod5-red.prod.microsoftmetrics.com"},
		Ingestion: "gcs.prod.warm.ingestion.monitoring.azure.us",
	},
	probes.CloudChina: {
		Name: probes.CloudChina, StorageSuffix: "core.chinacloudapi.cn", SQLSuffix: "database.chinacloudapi.cn",
		VaultSuffix: "vault.azure.cn", APIMSuffix: "azure-api.cn",
		Login: "login.chinacloudapi.cn", Graph: "microsoftgraph.chinacloudapi.cn", EventHubSuffix: "servicebus.chinacloudapi.cn",
		KMS:      []string{"kms.core.chinacloudapi.cn"},
		Warmpath: "mooncake.warmpath.chinacloudapi.cn",
		// The China list has no prod3-black (azure-facts.md §1.2).
		Metrics: []string{"global.prod.microsoftmetrics.com", "shoebox2.prod.microsoftmetrics.com",
			"shoebox2-red.prod.microsoftmetrics.com", "shoebox2-black.prod.microsoftmetrics.com",
			"prod3.prod.microsoftmetrics.com", "prod3-red.prod.microsoftmetrics.com",
			"prod5.prod.microsoftmetrics.com", "prod5-black.prod.microsoftmetrics.com",
			"prod5-red.prod.microsoftmetrics.com"},
		Metrics1886: []string{"prod3.prod.microsoftmetrics.com", "prod3-red.prod.microsoftmetrics.com",
			"prod5.prod.microsoftmetrics.com", "prod5-black.prod.microsoftmetrics.com",
			"prod5-red.prod.microsoftmetrics.com"},
		Ingestion: "gcs.prod.warm.ingestion.monitoring.azure.cn",
	},
}

// LookupCloud returns the named cloud.
func LookupCloud(name probes.Cloud) (Cloud, bool) {
	c, ok := clouds[name]
	return c, ok
}
