package resolver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/probes"
)

// known is an expectation with everything known: both VIPs, the subnet and
// the VNet. Each mode is judged against it.
func known(mode probes.Mode) Expectation {
	return Expectation{
		Mode:      mode,
		Phase:     "post",
		PrivateIP: netip.MustParseAddr("10.1.2.5"),
		PublicIP:  netip.MustParseAddr("20.50.1.2"),
		Subnet:    netip.MustParsePrefix("10.1.2.0/24"),
		VNet:      []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
	}
}

// TestGatewayAnswerPerMode: in internal mode and Premium v2 injection the
// gateway name must resolve to the private VIP; in external mode and v2
// outbound integration to the instance's public VIP (SPEC, azure-facts §3).
// Each mode is tested on both sides — the right answer passes, the other
// VIP and strangers fail with the reason and hint of that mode — through a
// real DNS server.
func TestGatewayAnswerPerMode(t *testing.T) {
	type outcome struct {
		status probes.Status
		reason probes.Reason
		msg    string // in the message
		hint   string // in the hint
	}
	pass := outcome{status: probes.Pass, reason: probes.ReasonOK}
	privateModes := map[string]outcome{
		"10.1.2.5":           pass,
		"20.50.1.2":          {probes.Fail, probes.ReasonPublicAnswer, "20.50.1.2 is public; the private VIP was expected", "create a private DNS zone named " + gw + " with an A record to 10.1.2.5"},
		"20.50.1.9":          {probes.Fail, probes.ReasonPublicAnswer, "20.50.1.9 is public", "private DNS zone"},
		"10.1.2.9":           {probes.Fail, probes.ReasonWrongAnswer, "10.1.2.9 is not the expected private VIP 10.1.2.5", "Change the A record for " + gw + " to 10.1.2.5"},
		"10.1.2.5 20.50.1.2": {probes.Fail, probes.ReasonPublicAnswer, "20.50.1.2 is public", "private DNS zone"},
	}
	publicModes := func(mode probes.Mode) map[string]outcome {
		return map[string]outcome{
			"20.50.1.2": pass,
			"10.1.2.5":  {probes.Fail, probes.ReasonWrongAnswer, "10.1.2.5 is private; " + string(mode) + " mode answers with the public VIP from the public zone", "Remove the private record or zone for " + gw},
			"10.1.2.9":  {probes.Fail, probes.ReasonWrongAnswer, "10.1.2.9 is private", "Remove the private record or zone"},
			"20.50.1.9": {probes.Fail, probes.ReasonWrongAnswer, "20.50.1.9 is not the instance's public VIP 20.50.1.2", "public VIP (" + string(mode) + " mode)"},
			// The public VIP beside a private record is still a private answer.
			"20.50.1.2 10.1.2.5": {probes.Fail, probes.ReasonWrongAnswer, "10.1.2.5 is private", "Remove the private record"},
		}
	}
	table := map[probes.Mode]map[string]outcome{
		probes.ModeInternal:     privateModes,
		probes.ModeV2Injected:   privateModes,
		probes.ModeExternal:     publicModes(probes.ModeExternal),
		probes.ModeV2Integrated: publicModes(probes.ModeV2Integrated),
	}
	for mode, answers := range table {
		exp := known(mode)
		for answer, want := range answers {
			t.Run(string(mode)+" "+answer, func(t *testing.T) {
				var records []string
				for _, a := range strings.Fields(answer) {
					records = append(records, gw+". 60 IN A "+a)
				}
				set := newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", newZone(t, records...)))
				r := runCheck(t, set, exp, IDGateway)
				if r.Status != want.status || r.Reason != want.reason {
					t.Fatalf("got %s/%s (%s | %s), want %s/%s", r.Status, r.Reason, r.Message, r.Hint, want.status, want.reason)
				}
				if !strings.Contains(r.Message, want.msg) || !strings.Contains(r.Hint, want.hint) {
					t.Errorf("message %q hint %q; want %q and %q", r.Message, r.Hint, want.msg, want.hint)
				}
				// The evidence names the VIP the answer was judged against,
				// and not the other: it may or may not have come yet.
				ev := r.Evidence["expected"].(map[string]any)
				judged, other := "public_ip", "private_ip"
				if exp.ExpectsPrivate() {
					judged, other = other, judged
				}
				if _, has := ev[other]; ev["private"] != exp.ExpectsPrivate() || ev[judged] == nil || has {
					t.Errorf("expected evidence %v: want %s and not %s", ev, judged, other)
				}
			})
		}
	}
}

// TestExpectsPrivatePerMode pins which modes answer privately, including
// the empty mode (the default, internal).
func TestExpectsPrivatePerMode(t *testing.T) {
	for mode, want := range map[probes.Mode]bool{"": true, probes.ModeInternal: true, probes.ModeV2Injected: true, probes.ModeExternal: false, probes.ModeV2Integrated: false} {
		if got := (Expectation{Mode: mode}).ExpectsPrivate(); got != want {
			t.Errorf("mode %q: ExpectsPrivate = %v, want %v", mode, got, want)
		}
	}
}

// TestExternalWithoutPublicVIP: when the public VIP is not known any public
// answer passes in external mode, and anything private fails, shared address
// space and VNet prefixes in public ranges included.
func TestExternalWithoutPublicVIP(t *testing.T) {
	exp := Expectation{Mode: probes.ModeExternal, Phase: "post", VNet: []netip.Prefix{netip.MustParsePrefix("20.0.0.0/16")}}
	for answer, want := range map[string]probes.Reason{
		"52.1.2.3":    probes.ReasonOK,
		"100.64.0.7":  probes.ReasonWrongAnswer, // RFC 6598: not on the internet
		"20.0.3.4":    probes.ReasonWrongAnswer, // the VNet's own space
		"192.168.1.1": probes.ReasonWrongAnswer,
	} {
		set := newSet(t, exp, netip.AddrPort{}, serve(t, "ip4", newZone(t, gw+". 60 IN A "+answer)))
		if r := runCheck(t, set, exp, IDGateway); r.Reason != want {
			t.Errorf("%s: got %s/%s (%s), want %s", answer, r.Status, r.Reason, r.Message, want)
		}
	}
}
