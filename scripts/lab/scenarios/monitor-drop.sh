# desc: the NSG has no rule for AzureMonitor: every Azure Monitor host (443 and 1886) is silently dropped
# expect: outbound.monitor.* fail or warn timeout (connect); verdict blocked; exit 1
for h in gcs.prod.monitoring.core.windows.net gcs.prod.warm.ingestion.monitoring.azure.com dc.services.visualstudio.com \
	global.prod.microsoftmetrics.com shoebox2.prod.microsoftmetrics.com shoebox2-red.prod.microsoftmetrics.com \
	shoebox2-black.prod.microsoftmetrics.com prod3.prod.microsoftmetrics.com prod3-red.prod.microsoftmetrics.com \
	prod3-black.prod.microsoftmetrics.com; do
	fault ip daddr "$(ip_of "$h")" drop
done
