package main

import (
	"slices"
	"strings"
	"time"
)

// The instance's own view, in the recorded shapes (azure-facts §4, §11.7):
// NetworkStatus is an array of {location, networkStatus{dnsServers,
// connectivityStatus}}, whose names are bare hosts, URLs and
// host:port/path; the dependency list is {value: [{category, endpoints:
// [{domainName, endpointDetails: [{port, region}]}]}]}. The platform's
// storage account and SQL server are names only the instance knows
// (scripts/lab/lab serves them).

const (
	vnetDNS      = "198.18.2.53" // the VNet's custom DNS server
	platformSt   = "apimstlab0001"
	platformSQL  = "apirpsqllab01.database.windows.net"
	platformKV   = "apikv-lab01.vault.azure.net"
	controlPlane = "https://contoso.management.azure-api.net:3443/servicestatus?api-version=2018-01-01"
)

type statusRow struct {
	name, host, resourceType string
	optional                 bool
}

var statusRows = []statusRow{
	{platformSt + ".blob.core.windows.net", platformSt + ".blob.core.windows.net", "BlobStorage", false},
	{platformSt + ".table.core.windows.net", platformSt + ".table.core.windows.net", "TableStorage", false},
	{platformSt + ".queue.core.windows.net", platformSt + ".queue.core.windows.net", "Queue", true},
	{platformSt + ".queue.core.windows.net", platformSt + ".queue.core.windows.net", "SmtpQueue", true},
	{platformSt + ".file.core.windows.net", platformSt + ".file.core.windows.net", "FileStorage", true},
	{platformSQL, platformSQL, "SQLDatabase", false},
	{"gcs.prod.monitoring.core.windows.net", "gcs.prod.monitoring.core.windows.net", "Monitoring", false},
	{"https://" + platformKV, platformKV, "AzureKeyVault", false},
	{"https://westeurope.login.microsoft.com", "westeurope.login.microsoft.com", "RegionalAzureActiveDirectory", true},
	{"https://login.windows.net", "login.windows.net", "AzureActiveDirectory", true},
	{"https://global.prod.microsoftmetrics.com/", "global.prod.microsoftmetrics.com", "Monitoring", true},
	{"https://prod3.prod.microsoftmetrics.com:1886/RecoveryService", "prod3.prod.microsoftmetrics.com", "Metrics", true},
	{"prod3-red.prod.microsoftmetrics.com:1886/RecoveryService", "prod3-red.prod.microsoftmetrics.com", "Metrics", true},
	{"https://partner.prod.repmap.microsoft.com", "partner.prod.repmap.microsoft.com", "CaptchaEndpoint", true},
	{controlPlane, "contoso.management.azure-api.net", "ApiManagement Control Plane - inbound", false},
	{"LocalGatewayRedis", "", "InternalCache", true},
	{"Scm", "", "SourceControl", true},
}

func networkStatus(k knobs, now time.Time) []any {
	updated := now.Add(-2 * time.Minute)
	if k.InstanceStaleMinutes > 0 {
		updated = now.Add(-time.Duration(k.InstanceStaleMinutes) * time.Minute)
	}
	dns := k.InstanceDNS
	if len(dns) == 0 {
		dns = []string{vnetDNS}
	}
	var rows []any
	for i, r := range statusRows {
		status, errText, changed := "success", "", now.Add(-72*time.Hour)
		if r.host != "" && slices.ContainsFunc(k.InstanceFail, func(h string) bool { return strings.EqualFold(h, r.host) }) {
			status, errText, changed = "failure", "Connection timed out after 00:00:20", updated.Add(-15*time.Minute)
		}
		last, change := updated.UTC().Format("2006-01-02T15:04:05.0000000Z"), changed.UTC().Format("2006-01-02T15:04:05.0000000Z")
		if k.InstanceDotNetDates {
			// Each row on its own 15-minute schedule: up to 24 minutes old
			// when read (a refresh plus lag), and a few dates as .NET writes
			// them at its worst.
			last = now.Add(-time.Duration(2+(i*11)%23) * time.Minute).UTC().Format("2006-01-02T15:04:05.0000000Z")
			switch i % 6 {
			case 1:
				last = now.Add(-5 * time.Minute).UTC().Format("2006-01-02T15:04:05.0000000") // no zone
			case 3:
				last, change = "0001-01-01T00:00:00", "0001-01-01T00:00:00"
			case 5:
				last = ""
			}
		}
		rows = append(rows, map[string]any{"name": r.name, "status": status, "error": errText,
			"lastUpdated": last, "lastStatusChange": change,
			"resourceType": r.resourceType, "isOptional": r.optional})
	}
	return []any{map[string]any{"location": "West Europe", "networkStatus": map[string]any{"dnsServers": dns, "connectivityStatus": rows}}}
}

func dependencies() map[string]any {
	ep := func(host string, region string, ports ...int) map[string]any {
		var det []any
		for _, p := range ports {
			det = append(det, map[string]any{"port": p, "region": region})
		}
		return map[string]any{"domainName": host, "endpointDetails": det}
	}
	cat := func(name string, eps ...map[string]any) map[string]any {
		return map[string]any{"category": name, "endpoints": eps}
	}
	return map[string]any{"value": []any{
		cat("Azure SQL", ep(platformSQL, "West Europe", 1433)),
		cat("Azure Storage", ep(platformSt+".blob.core.windows.net", "West Europe", 443), ep(platformSt+".table.core.windows.net", "West Europe", 443),
			ep(platformSt+".queue.core.windows.net", "West Europe", 443), ep(platformSt+".file.core.windows.net", "West Europe", 445)),
		cat("Azure Key Vault", ep(platformKV, "West Europe", 443)),
		cat("Azure Monitor", ep("gcs.prod.monitoring.core.windows.net", "Global", 443), ep("global.prod.microsoftmetrics.com", "Global", 443),
			ep("prod3.prod.microsoftmetrics.com", "Global", 1886), ep("prod3-red.prod.microsoftmetrics.com", "Global", 1886)),
		cat("SSL Certificate Verification", ep("ocsp.msocsp.com", "Global", 80, 443), ep("crl.microsoft.com", "Global", 80, 443)),
		cat("Portal Captcha", ep("partner.prod.repmap.microsoft.com", "Global", 443)),
		cat("Azure Active Directory", ep("login.windows.net", "Global", 443), ep("login.microsoftonline.com", "Global", 443)),
	}}
}
