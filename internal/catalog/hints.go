package catalog

import (
	"fmt"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// tag names the service tag an NSG or UDR rule should use, regional where the
// tag has regional forms and the region is known.
func tag(e Endpoint, region string) string {
	switch {
	case e.ServiceTag == "":
		return ""
	case e.ServiceTag == "Internet":
		return "Internet"
	case e.Regional && region != "":
		return e.ServiceTag + "." + strings.ToLower(region)
	}
	return e.ServiceTag
}

// hint writes the concrete change that fixes a failed or warned check, from
// what was seen and what the catalogue knows of the endpoint.
func hint(e Endpoint, region string) func(probes.Result) string {
	return func(r probes.Result) string {
		if r.Hint != "" {
			return r.Hint // the probe (or the DNS comparison) knew better
		}
		dest := fmt.Sprintf("%s:%d", e.Host, e.Port)
		allow := fmt.Sprintf("outbound %s %d to %s", proto(e), e.Port, e.Host)
		if t := tag(e, region); t != "" && t != "Internet" {
			allow = fmt.Sprintf("outbound %s %d to service tag %s", proto(e), e.Port, t)
		}
		if e.Inbound {
			allow = fmt.Sprintf("TCP %d from this subnet to the instance's private VIP", e.Port)
		}
		switch r.Reason {
		case probes.ReasonTimeout:
			if r.FailedPhase == probes.PhaseTLS {
				return fmt.Sprintf("TCP connects but the TLS handshake to %s stalls: an appliance holds the connection; let %s through without inspection.", dest, e.Host)
			}
			if r.FailedPhase == probes.PhaseHTTP {
				return fmt.Sprintf("%s accepted the request but did not answer in time: check the appliance or proxy in the path, then the service's health.", dest)
			}
			return fmt.Sprintf("Packets to %s are silently dropped: allow %s in the subnet's NSG, and on the firewall if a route sends this traffic there.", dest, allow)
		case probes.ReasonRefused:
			if e.Kind == probes.KindNTP {
				return fmt.Sprintf("The NTP server at %s would not serve this machine (ICMP port unreachable or a kiss-of-death): if a firewall answers in its name, allow %s there; otherwise check that %s resolves to Microsoft's time service.", firstAddr(r), allow, e.Host)
			}
			return fmt.Sprintf("Something at %s refused the connection: if it is a firewall, allow %s there; if the address is not the service's, fix DNS for %s.", firstAddr(r), allow, e.Host)
		case probes.ReasonUnreachable:
			return fmt.Sprintf("No route to %s: check the subnet's route table (a route with next hop None, or none at all) and allow %s.", firstAddr(r), allow)
		case probes.ReasonReset:
			if r.FailedPhase == probes.PhaseTLS {
				return fmt.Sprintf("A firewall filtering by server name cut the connection: allow FQDN %s on port %d in its application rules (or exempt it).", e.Host, e.Port)
			}
			return fmt.Sprintf("The connection to %s was reset by something in the path: allow %s on the firewall or appliance.", dest, allow)
		case probes.ReasonTLSUntrusted:
			return fmt.Sprintf("The certificate from %s is not from a CA this machine trusts: if a proxy inspects TLS, exempt %s from inspection; otherwise update this machine's CA roots.", firstAddr(r), e.Host)
		case probes.ReasonTLSNameMismatch:
			return fmt.Sprintf("The server at %s is not %s: DNS points the name elsewhere (check private DNS zones) or a proxy answers with its own certificate.", firstAddr(r), e.Host)
		case probes.ReasonTLSIntercepted:
			return fmt.Sprintf("Exempt %s from TLS inspection on the firewall or proxy: API Management does not trust the inspecting CA.", e.Host)
		case probes.ReasonTLSHandshake:
			return fmt.Sprintf("Something other than the service answers TLS on %s: let %s through the appliance without interception.", dest, e.Host)
		case probes.ReasonNXDomain, probes.ReasonServFail, probes.ReasonDNSTimeout, probes.ReasonNoAnswer:
			return fmt.Sprintf("%s does not resolve here: make the VNet's DNS servers forward to Azure DNS (168.63.129.16) and check that no private DNS zone hides it; allow outbound UDP/TCP 53 to the DNS servers.", e.Host)
		case probes.ReasonHTTPStatus, probes.ReasonHTTPBody:
			return httpHint(e, allow)
		case probes.ReasonWrongAnswer:
			if e.Kind == probes.KindNTP {
				return fmt.Sprintf("Something other than a synchronised NTP server answered on %s (an appliance that intercepts NTP, or a server without time): allow %s through unchanged.", dest, allow)
			}
		}
		return ""
	}
}

// proto is the transport an endpoint's rule names.
func proto(e Endpoint) string { return strings.ToUpper(string(e.Kind.Spec().Protocol)) }

// unobservableHint names the rule to make for a flow the tool cannot probe.
func unobservableHint(e Endpoint, region string) string {
	to := "its destination"
	if t := tag(e, region); t != "" {
		to = "service tag " + t
	}
	return fmt.Sprintf("Allow outbound %s %d to %s in the subnet's NSG and firewall (no destination is documented to test).", proto(e), e.Port, to)
}

func httpHint(e Endpoint, allow string) string {
	switch e.Expect {
	case ExpectGraphMetadata:
		return fmt.Sprintf("Something other than Microsoft Graph answered (a proxy or firewall block page): allow %s on port 443 (service tag AzureActiveDirectory) without interception.", e.Host)
	case ExpectVaultChallenge:
		return fmt.Sprintf("Key Vault did not answer as Key Vault: a proxy or firewall answers for %s; allow %s without interception.", e.Host, allow)
	case ExpectGatewayStatus:
		return fmt.Sprintf("The gateway did not answer 200 on its status path: check the instance's health in the portal, and that %s resolves to the instance's VIP.", e.Host)
	}
	return fmt.Sprintf("A proxy or appliance answered for %s: allow %s directly.", e.Host, allow)
}

func firstAddr(r probes.Result) string {
	if r.Dialled != "" {
		return r.Dialled
	}
	if len(r.Addresses) > 0 {
		return r.Addresses[0]
	}
	return "the address"
}
