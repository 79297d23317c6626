package resolver

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// Name is one host name a dns.* check resolves.
type Name struct {
	ID       string // check id, such as "dns.gateway"
	Title    string
	Host     string // empty: the check is skipped with SkipReason
	Required bool
	// SkipReason and SkipHint explain an empty Host: no-data (an input is
	// missing; the hint names the flag) or not-applicable (not in this mode).
	SkipReason probes.Reason
	SkipHint   string
	SkipMsg    string
	// Pattern is the name with what is unknown as a placeholder
	// ("<service>.azure-api.net"): the target of a skipped check.
	Pattern string
}

// The dns.* check ids for the instance's names, in report order.
const (
	IDGateway         = "dns.gateway"
	IDPortal          = "dns.portal"
	IDDeveloperPortal = "dns.developer-portal"
	IDManagement      = "dns.management"
	IDSCM             = "dns.scm"
	IDRegionalGateway = "dns.regional-gateway"
	IDZoneScope       = "dns.zone-scope"
)

// APIMSuffix is the instance domain of a cloud (azure-facts.md §3, §10):
// public → azure-api.net, usgov → azure-api.us, china → azure-api.cn.
func APIMSuffix(cloud probes.Cloud) (string, error) {
	switch cloud {
	case "", probes.CloudPublic:
		return "azure-api.net", nil
	case probes.CloudUSGov:
		return "azure-api.us", nil
	case probes.CloudChina:
		return "azure-api.cn", nil
	}
	return "", fmt.Errorf("--cloud %q is not one of public, usgov, china", cloud)
}

// InstanceNames computes the default host names of service in cloud and mode
// (azure-facts.md §3). Premium v2 tiers get only the gateway name by default;
// the regional gateway name is documented only for the public cloud and for
// classic tiers, and needs the region. Names that do not apply or cannot be
// computed come back with an empty Host and the reason, so that every dns.*
// id appears in the plan.
func InstanceNames(service string, cloud probes.Cloud, mode probes.Mode, region string) ([]Name, error) {
	suffix, err := APIMSuffix(cloud)
	if err != nil {
		return nil, err
	}
	service = strings.ToLower(strings.TrimSpace(service))
	region = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(region), " ", ""))
	names := []Name{
		{ID: IDGateway, Title: "Gateway host name", Required: true, Host: service + "." + suffix},
		{ID: IDPortal, Title: "Legacy developer portal host name", Host: service + ".portal." + suffix},
		{ID: IDDeveloperPortal, Title: "Developer portal host name", Host: service + ".developer." + suffix},
		{ID: IDManagement, Title: "Direct management host name", Host: service + ".management." + suffix},
		{ID: IDSCM, Title: "Git (SCM) host name", Host: service + ".scm." + suffix},
		{ID: IDRegionalGateway, Title: "Regional gateway host name"},
	}
	v2 := mode.V2()
	svc, reg := cmp.Or(service, "<service>"), cmp.Or(region, "<region>")
	for i := range names {
		n := &names[i]
		n.Pattern = strings.Replace(n.Host, service+".", svc+".", 1)
		if n.ID == IDRegionalGateway {
			n.Pattern = fmt.Sprintf("%s-%s-01.regional.%s", svc, reg, suffix)
		}
		switch {
		case service == "":
			n.Host = ""
			n.SkipReason = probes.ReasonNoData
			n.SkipMsg = "the instance name is not known"
			n.SkipHint = "Pass --service NAME (the API Management instance name) to check its DNS records."
		case v2 && n.ID != IDGateway:
			n.Host = ""
			n.SkipReason = probes.ReasonNotApplicable
			n.SkipMsg = fmt.Sprintf("%s instances get only the gateway host name by default", mode)
		case n.ID == IDRegionalGateway && suffix != "azure-api.net":
			n.SkipReason = probes.ReasonNotApplicable
			n.SkipMsg = "regional gateway names are documented only for the public cloud"
		case n.ID == IDRegionalGateway && region == "":
			n.SkipReason = probes.ReasonNoData
			n.SkipMsg = "the region is not known"
			n.SkipHint = "Pass --region NAME (or run on an Azure VM so IMDS supplies it) to check the regional gateway name."
		case n.ID == IDRegionalGateway:
			n.Host = fmt.Sprintf("%s-%s-01.regional.%s", service, region, suffix)
		}
	}
	return names, nil
}
