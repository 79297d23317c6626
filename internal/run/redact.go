package run

import (
	"github.com/apimprobe/apimprobe/internal/catalog"
	"github.com/apimprobe/apimprobe/internal/report"
)

// Redact replaces, for --redact, the names the operator gave and the ones
// the run found (resource group, the VM, the backends) in every part of
// the report, each with a placeholder of its kind.
func Redact(rep *report.Report, cfg Config) error {
	red := redaction(cfg)
	for v, kind := range map[string]string{rep.Context.ResourceGroup: "resource-group", rep.Context.Hostname: "vm"} {
		if v != "" {
			red.Names[v] = kind
		}
	}
	for _, n := range catalog.BackendNames(rep.Checks) {
		red.Names[n] = "backend"
	}
	red.IDAreas = append(red.IDAreas, catalog.BackendArea+".")
	return rep.Redact(red)
}

// redaction names what --redact replaces: the names the operator gave and
// the ones discovered, each with its kind.
func redaction(c Config) report.Redaction {
	names := map[string]string{}
	for v, kind := range map[string]string{
		c.Service: "service", c.StorageAccount: "storage-account", c.SQLServer: "sql-server", c.KeyVault: "key-vault", c.EventHub: "event-hub",
	} {
		if v != "" {
			names[v] = kind
		}
	}
	return report.Redaction{Names: names, Keep: []string{"168.63.129.16", "169.254.169.254"}}
}
