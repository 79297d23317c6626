package probes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// systemResolver is Go's resolver reading /etc/resolv.conf, used when a
// check names no Resolver.
type systemResolver struct{}

func (systemResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, host)
}

// SystemResolver is the default Resolver.
var SystemResolver Resolver = systemResolver{}

// resolve turns host into addresses once, records them and the DNS evidence
// on res, and reports whether the check may go on to dial. An IP literal is
// used as it is.
func resolve(ctx context.Context, r Resolver, host string, res *Result) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		res.Addresses = []string{ip.String()}
		return true
	}
	if r == nil {
		r = SystemResolver
	}
	start := time.Now()
	var (
		addrs []string
		err   error
	)
	if dr, ok := r.(DetailedResolver); ok {
		var d Detail
		d, err = dr.LookupDetail(ctx, host)
		addrs = d.Addrs
		problem := d.Problem
		if d.Evidence != nil {
			res.evidence()["dns"] = d.Evidence
		}
		res.Lookups = d.Lookups
		if problem != nil && err == nil {
			res.phase("resolve_ms", time.Since(start))
			res.Status, res.Reason, res.FailedPhase = problem.Status, problem.Reason, PhaseResolve
			res.Message, res.Hint = problem.Message, problem.Hint
			res.Addresses = addrs
			return false
		}
	} else {
		addrs, err = r.LookupHost(ctx, host)
	}
	res.phase("resolve_ms", time.Since(start))
	if err == nil && len(addrs) == 0 {
		err = &DNSError{Outcome: DNSNoData, Name: host}
	}
	if err != nil {
		reason, msg := Classify(ctx, err)
		*res = mergeFail(*res, reason, PhaseResolve, "cannot resolve "+host+": "+msg)
		return false
	}
	res.Addresses = addrs
	if bad, ok := SinkholeIn(r, addrs); ok {
		s := SinkholeResult(host, bad)
		res.Status, res.Reason, res.FailedPhase, res.Message, res.Hint = s.Status, s.Reason, s.FailedPhase, s.Message, s.Hint
		return false
	}
	return true
}

// dialFirst connects to the first resolved address: the address that was
// tested is the address that is reported.
func dialFirst(ctx context.Context, res *Result, port int) (net.Conn, bool) {
	addr := net.JoinHostPort(res.Addresses[0], strconv.Itoa(port))
	res.Dialled = addr
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	res.phase("connect_ms", time.Since(start))
	if err != nil {
		reason, msg := Classify(ctx, err)
		if reason == ReasonTimeout {
			msg = fmt.Sprintf("no answer to TCP SYN to %s within %s (a silent drop: NSG, firewall or route)", addr, roundMS(time.Since(start)))
		} else {
			msg = fmt.Sprintf("TCP connect to %s: %s", addr, msg)
		}
		*res = mergeFail(*res, reason, PhaseConnect, msg)
		return nil, false
	}
	return conn, true
}

func (r *Result) evidence() map[string]any {
	if r.Evidence == nil {
		r.Evidence = map[string]any{}
	}
	return r.Evidence
}

func (r *Result) phase(name string, d time.Duration) {
	if r.Phases == nil {
		r.Phases = map[string]int64{}
	}
	r.Phases[name] = d.Milliseconds()
}

// mergeFail keeps what was already recorded (phases, addresses, evidence) and
// sets the failure. A run cut by --deadline stays a fail with reason deadline.
func mergeFail(res Result, reason Reason, phase Phase, msg string) Result {
	res.Status, res.Reason, res.FailedPhase, res.Message = Fail, reason, phase, msg
	return res
}

// passWith turns what a probe recorded on its way (phases, addresses,
// evidence, what it dialled and the certificate) into a pass.
func passWith(res Result, msg string) Result {
	res.Status, res.Reason, res.FailedPhase, res.Message, res.Hint = Pass, ReasonOK, PhaseNone, msg, ""
	return res
}

func roundMS(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
