package run

import (
	"fmt"
	"sort"

	"github.com/apimprobe/apimprobe/internal/findings"
	"github.com/apimprobe/apimprobe/probes"
)

// Headline composes the report summary's one sentence from what the route,
// egress and TLS checks saw: where an appliance answered on the path, which
// hosts' certificates were re-signed and by whom, and where internet-bound
// traffic leaves. It says only what the evidence supports and how sure it
// is: that an appliance on the path is the device that inspects TLS is an
// inference, and is worded as one. It returns "" when none of these checks
// found anything worth a headline.
func Headline(outcomes []probes.Outcome) string {
	// Appliances, and the dependencies on whose path each answered.
	applianceDeps := map[string][]string{}
	egressIP, egressTunnel := "", false
	for _, o := range outcomes {
		role, r := o.Check.Role, o.Result
		switch {
		case role == probes.RolePathTrace && r.Reason == probes.ReasonForcedTunnel:
			if r.Appliance != "" {
				applianceDeps[r.Appliance] = append(applianceDeps[r.Appliance], o.Check.Target.Host)
			}
		case role == probes.RoleEgressEcho && r.Reason == probes.ReasonForcedTunnel:
			egressIP, egressTunnel = r.EgressIP, true
		}
	}
	intercepted := findings.Interceptions(outcomes)

	var appliances []string
	for a := range applianceDeps {
		appliances = append(appliances, a)
	}
	sort.Strings(appliances)

	// Is an appliance seen on the path to a host whose TLS was inspected?
	onInspectedPath := false
	inspected := map[string]bool{}
	for _, i := range intercepted {
		inspected[i.Host] = true
	}
	for _, deps := range applianceDeps {
		for _, h := range deps {
			if inspected[h] {
				onInspectedPath = true
			}
		}
	}
	h := headline{appliances: appliances, tls: interceptionDetail(intercepted), onInspectedPath: onInspectedPath}
	if egressTunnel && egressIP != "" {
		h.outside = " from " + egressIP + ", which is not an Azure address"
		h.egress = "leaves for the internet" + h.outside
	}
	return h.sentence()
}

// interceptionDetail says whose certificates were re-signed and by whom,
// or "" when none was.
func interceptionDetail(intercepted []findings.Intercepted) string {
	if len(intercepted) == 0 {
		return ""
	}
	var hosts, issuers []string
	for _, i := range intercepted {
		hosts = append(hosts, i.Host)
		if i.Issuer != "" {
			issuers = append(issuers, fmt.Sprintf("%q", i.Issuer))
		}
	}
	detail := "certificates for " + findings.ListOf(uniq(hosts), 3)
	if is := uniq(issuers); len(is) > 0 {
		detail += " are issued by " + findings.ListOf(is, 2)
	} else {
		detail += " are re-signed"
	}
	return detail + ", not by an Azure root"
}

// headline is what the sentence is made of: the appliances on the path,
// the TLS interception's detail (and whether an appliance is on an
// inspected host's path), and the egress address outside Azure.
type headline struct {
	appliances      []string
	tls             string
	onInspectedPath bool
	egress, outside string
}

func (h headline) sentence() string {
	var s string
	switch {
	case len(h.appliances) > 0:
		s = "Traffic to Azure goes through an appliance at " + findings.ListOf(h.appliances, 3) + " (it answered as a hop on the path)"
		switch {
		case h.tls != "" && h.onInspectedPath:
			s += " that most likely inspects TLS (" + h.tls + ")"
			if h.egress != "" {
				s += ", and " + h.egress
			}
		case h.tls != "":
			if h.egress != "" {
				s += " and " + h.egress
			}
			s += "; TLS is inspected somewhere on the way (" + h.tls + ")"
		case h.egress != "":
			s += " and " + h.egress
		}
	case h.tls != "":
		s = "TLS to Azure is inspected by a device in the path (" + h.tls + ")"
		if h.egress != "" {
			s += ", and internet-bound traffic leaves" + h.outside
		}
	case h.egress != "":
		s = "Internet-bound traffic leaves" + h.outside + ": a forced tunnel (judged from the egress address alone; the route and dependency checks say whether it breaks anything)"
	default:
		return ""
	}
	return s + "."
}
