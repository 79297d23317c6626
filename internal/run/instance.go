package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
	"github.com/apimprobe/apimprobe/resolver"
)

// The instance's own view beside this VM's (SPEC area instance, azure-facts
// §4 and §11.7). After deployment Azure probes every dependency from the
// instance's own machines every 15 minutes (NetworkStatus) and lists the
// hosts it depends on (OutboundNetworkDependenciesEndpoints). Both come from
// Resource Manager while the checks run, so the plan cannot name the
// platform's hosts: `plan` lists one check, instance.dependencies, and
// `run` probes every host of the list inside it (those the catalogue does
// not probe already), its evidence holding one entry per host. The check
// list is therefore the same for plan and run, whatever Resource Manager
// answers. The instance.* summaries read NetworkStatus itself, and every
// check that matches one of its rows carries the instance's side in its
// evidence (annotateInstance).

const (
	idInstanceDeps     = "instance.dependencies"
	idInstanceRequired = "instance.required"
	idInstanceOptional = "instance.optional"
	idInstanceStale    = "instance.stale"
	idInstanceDNS      = "instance.dns"

	docNetworkStatus = "github.com/Azure/azure-rest-api-specs apimanagement 2024-05-01 apimnetworkstatus.json, apimoutbounddependency.json"
	categoryInstance = "Instance"

	// depConcurrency bounds the dependency probes of instance.dependencies,
	// which run inside one analysis check, outside --concurrency.
	depConcurrency = 4
)

// differs says what can differ between this VM and the instance's machines
// when the two views disagree.
const differs = "The two views can differ where the instance's machines are treated otherwise than this VM: " +
	"the NSG and route table of the instance's subnet (when this VM sits in another subnet), the DNS servers the instance uses " +
	"(its virtual network's, applied when its network configuration was last applied), firewall rules scoped to the instance's " +
	"addresses rather than the subnet's, and time: the instance's status can be 15 minutes old."

// instanceHint is the hint of a skip for want of the instance's view.
func instanceHint(service string) string {
	return fmt.Sprintf("Run `az rest --method get --url https://management.azure.com/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/%s/networkstatus?api-version=2024-05-01` "+
		"(and …/outboundNetworkDependenciesEndpoints) after deployment to see the instance's own view, or give this VM's identity Reader on the instance.",
		nonEmpty(service, "NAME"))
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// depSeen is one host of the dependency list as instance.dependencies
// probed it, for its evidence and for the summaries.
type depSeen struct {
	Host     string                  `json:"host"`
	Port     int                     `json:"port"`
	Category string                  `json:"category"`
	Required bool                    `json:"required"`
	Status   probes.Status           `json:"status"`
	Reason   probes.Reason           `json:"reason"`
	Phase    probes.Phase            `json:"failed_phase,omitempty"`
	Message  string                  `json:"message,omitempty"`
	Dialled  string                  `json:"dialled,omitempty"`
	Instance []probes.InstanceStatus `json:"instance_status,omitempty"`
	// cert is the chain the handshake presented, for the interception
	// summary and finding (interceptedParts).
	cert *probes.CertSeen
	// rule and fix: the NSG on this VM's NIC denied the flow
	// (annotateNICDeps): its rule, and the rule to add to it.
	rule *probes.RuleSeen
	fix  string
}

// depDup is a host of the list that a catalogue check probes already.
type depDup struct {
	Host  string `json:"host"`
	Port  int    `json:"port"`
	Check string `json:"check"`
}

// instanceRun carries what instance.dependencies saw to the summaries and
// the annotation, which run after it.
type instanceRun struct {
	mu   sync.Mutex
	deps []depSeen
	// judged is the check's verdict again from deps, for a change to them
	// after the check (annotateNICDeps).
	judged func([]depSeen) probes.Result
}

func (r *instanceRun) set(d []depSeen, judged func([]depSeen) probes.Result) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.deps, r.judged = d, judged
	r.mu.Unlock()
}

func (r *instanceRun) get() []depSeen {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deps
}

// instanceChecks are the instance.* checks. deps are the catalogue's
// checks, whose targets the dependency list is deduplicated against.
func (w world) instanceChecks(deps []probes.Check) []probes.Check {
	out := []probes.Check{w.instanceDepsCheck(deps)}
	type summary struct {
		id, title, why string
		required       bool
		judge          func(*snapshot.InstanceView, []probes.Outcome, []depSeen) probes.Result
	}
	for _, s := range []summary{
		{idInstanceRequired, "The instance's own required dependencies (NetworkStatus)",
			"Azure probes each dependency from the instance's machines every 15 minutes; a required one failing there breaks the instance whatever this VM sees", true,
			func(v *snapshot.InstanceView, outs []probes.Outcome, ds []depSeen) probes.Result {
				return instanceFailures(v, outs, ds, false)
			}},
		{idInstanceOptional, "The instance's own optional dependencies (NetworkStatus)",
			"optional dependencies failing on the instance's machines disable features (CAPTCHA, Event Hubs logging, metrics)", false,
			func(v *snapshot.InstanceView, outs []probes.Outcome, ds []depSeen) probes.Result {
				return instanceFailures(v, outs, ds, true)
			}},
		{idInstanceStale, "Freshness of the instance's network status",
			fmt.Sprintf("each NetworkStatus row is refreshed about every %d minutes, at its own time; a row not updated for more than %d minutes has missed a refresh, which means the instance has lost the connectivity to report it",
				int(snapshot.RefreshEvery.Minutes()), int(snapshot.StaleAfter.Minutes())), false,
			func(v *snapshot.InstanceView, _ []probes.Outcome, _ []depSeen) probes.Result {
				return instanceStale(v, time.Now())
			}},
		{idInstanceDNS, "The instance's DNS servers against this VM's",
			"the instance resolves its dependencies with its virtual network's DNS servers; this VM's verdicts on names carry over only when it asks the same servers", false,
			func(v *snapshot.InstanceView, _ []probes.Outcome, _ []depSeen) probes.Result {
				vm, missing := w.vmResolvers()
				return instanceDNS(v, vm, missing)
			}},
	} {
		ch := probes.Check{ID: s.id, Title: s.title, Category: categoryInstance, Required: s.required, Kind: probes.KindAnalysis,
			Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceStatus, Phase: probes.DeployPost},
			Target: probes.Subject("the instance's NetworkStatus"), Source: docNetworkStatus, Why: s.why}
		if pre := w.instanceSkip(); pre != nil {
			ch.Preset = pre
			out = append(out, ch)
			continue
		}
		judge := s.judge
		ch.Summary = func(outs []probes.Outcome) probes.Result {
			v := w.instanceViewNow()
			if skip := viewUnavailable(v, w.cfg.Service, false); skip != nil {
				return *skip
			}
			return judge(v, outs, w.instRun.get())
		}
		out = append(out, ch)
	}
	return out
}

// instanceSkip is the planning-time skip of every instance.* check: before
// deployment, or without the instance's name.
func (w world) instanceSkip() *probes.Result {
	switch {
	case w.phase == probes.DeployPre:
		r := probes.Skipf(probes.ReasonNotApplicable, "pre-deployment phase: the instance does not exist yet, so it reports no network status", instanceHint(w.cfg.Service))
		return &r
	case w.cfg.Service == "":
		r := probes.Skipf(probes.ReasonNoData, "needs service", "Pass --service NAME (the API Management instance) to compare with the instance's own network status.")
		return &r
	}
	return nil
}

// instanceViewNow is the instance's view for a summary: the analyses have
// waited for it already, so this waits at most until the run's deadline.
func (w world) instanceViewNow() *snapshot.InstanceView {
	if w.instance == nil {
		return snapshot.Static{}.InstanceView(context.Background())
	}
	ctx := w.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	return w.instance.InstanceView(ctx)
}

// viewUnavailable is the skip when the reads of the instance's view did not
// succeed; deps selects the dependency list's read, else NetworkStatus's.
func viewUnavailable(v *snapshot.InstanceView, service string, deps bool) *probes.Result {
	var r *snapshot.Read
	if v != nil {
		r = v.Status
		if deps {
			r = v.Deps
		}
	}
	if r.OK() {
		return nil
	}
	msg := "Resource Manager did not show the instance's network status"
	perm := "Microsoft.ApiManagement/service/networkstatus/read"
	if deps {
		msg, perm = "Resource Manager did not show the instance's dependency list", "Microsoft.ApiManagement/service/outboundNetworkDependenciesEndpoints/read"
	}
	switch {
	case v == nil:
		msg += " before the check ended"
	case r == nil:
		msg += " (Resource Manager was not read: no token, --no-arm, or not on an Azure VM)"
	default:
		msg += ": " + r.Name + " read " + r.Status + ": " + r.Message
		perm = r.Permission
	}
	res := probes.Skipf(probes.ReasonNotObservable, msg, instanceHint(service))
	cmd := instanceHint(service)
	if r != nil && r.CLI != "" {
		cmd = r.CLI
	}
	res.NeedsARM = &probes.ARMNeed{Why: msg, Permission: perm, Command: cmd, Disabled: r == nil, RoleActions: snapshot.RoleActions}
	if r != nil && r.Status == snapshot.ReadRejected {
		res.NeedsARM.Rejected, res.NeedsARM.TokenFix = cmp.Or(r.ErrorCode, "HTTP 401"), r.Fix
		res.Hint = r.Fix + "; then run again."
	}
	if r != nil && r.Status == snapshot.ReadUnreachable {
		res.NeedsARM.Unreachable, res.NeedsARM.NoAnswer = cmp.Or(v.Endpoint, "its endpoint"), r.NoAnswer
		res.Hint = fmt.Sprintf("Let this VM resolve and reach Resource Manager, %s (service tag AzureResourceManager), through its DNS servers, NSG and firewall, or r%s",
			res.NeedsARM.Unreachable, strings.TrimPrefix(instanceHint(service), "R"))
	}
	return &res
}

// target is one host and port of the dependency list to probe.
type target struct {
	host, category string
	port           int
	required       bool
	instance       []probes.InstanceStatus
}

// instanceDepsCheck is instance.dependencies: every host of the instance's
// own dependency list that the catalogue does not probe, probed from here.
func (w world) instanceDepsCheck(catalogue []probes.Check) probes.Check {
	ch := probes.Check{ID: idInstanceDeps, Title: "The instance's own dependency list, probed from this VM", Category: categoryInstance,
		Facets:   probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceDeps, Phase: probes.DeployPost},
		Required: true, Kind: probes.KindAnalysis, Target: probes.Subject("the instance's outboundNetworkDependenciesEndpoints"),
		Source: docNetworkStatus, UntilDeadline: true,
		Why: "the instance names its own dependencies, among them the platform's storage accounts and SQL servers that no flag can name"}
	if pre := w.instanceSkip(); pre != nil {
		ch.Preset = pre
		return ch
	}
	probed := map[string]string{}
	for _, c := range catalogue {
		if c.Probe != nil && c.Target.Host != "" && c.Target.Port > 0 {
			k := strings.ToLower(c.Target.Host) + ":" + fmt.Sprint(c.Target.Port)
			if _, ok := probed[k]; !ok {
				probed[k] = c.ID
			}
		}
	}
	ch.Probe = probes.ProbeFunc(func(ctx context.Context) probes.Result {
		var v *snapshot.InstanceView
		if w.instance != nil {
			v = w.instance.InstanceView(ctx)
		}
		if v == nil && w.instance != nil {
			if errors.Is(context.Cause(ctx), probes.ErrRunDeadline) {
				return probes.Failf(probes.ReasonDeadline, probes.PhaseAnalysis, "the run's --deadline ended the check before Resource Manager showed the instance's dependency list")
			}
		}
		if skip := viewUnavailable(v, w.cfg.Service, true); skip != nil {
			return *skip
		}
		probed := maps.Clone(probed) // the list's own hosts join it per run
		var todo []target
		dups := []depDup{}
		for _, d := range v.Dependencies {
			for _, p := range d.Ports {
				k := d.Host + ":" + fmt.Sprint(p)
				if id, ok := probed[k]; ok {
					dups = append(dups, depDup{Host: d.Host, Port: p, Check: id})
					continue
				}
				probed[k] = idInstanceDeps
				t := target{host: d.Host, port: p, category: d.Category, instance: snapshot.StatusFor(v.Locations, d.Host, p, "")}
				t.required = depRequired(t)
				todo = append(todo, t)
			}
		}
		seen := w.probeDeps(ctx, todo)
		judged := func(seen []depSeen) probes.Result { return depsResult(seen, dups, len(v.Dependencies), v.DepsCut) }
		w.instRun.set(seen, judged)
		return judged(seen)
	})
	return ch
}

// depRequired: what the instance's own status says, else the kinds of
// dependency the reference calls required (storage over HTTPS, SQL).
func depRequired(t target) bool {
	if len(t.instance) > 0 {
		return !t.instance[0].Optional
	}
	switch strings.ToLower(t.category) {
	case "azure sql":
		return true
	case "azure storage":
		return t.port == 443
	}
	return false
}

// probeDeps probes the targets, at most depConcurrency at a time, each
// within the check timeout.
func (w world) probeDeps(ctx context.Context, todo []target) []depSeen {
	out := make([]depSeen, len(todo))
	sem := make(chan struct{}, depConcurrency)
	var wg sync.WaitGroup
	for i, t := range todo {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = seenOf(t, probes.Failf(probes.ReasonDeadline, probes.PhaseConnect, "the run's --deadline came before this host was probed"))
				return
			}
			defer func() { <-sem }()
			pctx, cancel := probes.WithLimit(ctx, max(w.cfg.Timeout, time.Second))
			defer cancel()
			out[i] = seenOf(t, w.depProbe(t).Run(pctx))
		})
	}
	wg.Wait()
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Port < out[j].Port
	})
	return out
}

// depProbe: a TLS handshake with the name where the port speaks TLS, a
// TCP connect elsewhere (SQL's gateway, SMB, SMTP, plain AMQP, HTTP).
func (w world) depProbe(t target) probes.Probe {
	switch t.port {
	case 443, 1886, 5671:
		reachOnly := strings.Contains(strings.ToLower(t.category), "certificate") || strings.Contains(strings.ToLower(t.category), "captcha")
		roots := w.cfg.AzureRoots
		if reachOnly {
			roots = nil
		}
		return probes.TLS{Host: t.host, Port: t.port, Resolver: w.resolver(), RootCAs: w.cfg.RootCAs, AzureRoots: roots,
			InterceptIsWarn: !t.required, ReachOnly: reachOnly}
	}
	return probes.TCP{Host: t.host, Port: t.port, Resolver: w.resolver()}
}

func seenOf(t target, r probes.Result) depSeen {
	return depSeen{Host: t.host, Port: t.port, Category: t.category, Required: t.required, Status: r.Status, Reason: r.Reason,
		Phase: r.FailedPhase, Message: r.Message, Dialled: r.Dialled, Instance: t.instance, cert: r.Cert}
}

// interceptedParts are the hosts of the instance's dependency list whose
// TLS was intercepted, each as an outcome of instance.dependencies with the
// certificate seen: tls.interception and the inspection finding name them
// with the catalogue's hosts. all: every host that failed or warned was
// intercepted (the check has no other cause).
func interceptedParts(deps []depSeen) (parts []probes.Outcome, all bool) {
	return explainedParts(deps, probes.KindTLS, func(d depSeen, r *probes.Result) bool {
		r.Cert = d.cert
		return d.cert != nil && d.cert.Intercepted // the one definition: findings.Interceptions
	})
}

// explainedParts are the hosts of the instance's dependency list that
// failed or warned and that one cause explains (explains says whether it
// does, and sets on the result what shows it), each as an outcome of
// instance.dependencies of kind. all: every host that failed or warned is
// explained (the check has no other cause).
func explainedParts(deps []depSeen, kind probes.Kind, explains func(depSeen, *probes.Result) bool) (parts []probes.Outcome, all bool) {
	all = true
	for _, d := range deps {
		if d.Status != probes.Fail && d.Status != probes.Warn {
			continue
		}
		r := probes.Result{Status: d.Status, Reason: d.Reason, FailedPhase: d.Phase, Message: d.Message, Dialled: d.Dialled}
		if !explains(d, &r) {
			all = false
			continue
		}
		parts = append(parts, probes.Outcome{
			Check: probes.Check{ID: idInstanceDeps, Kind: kind, Required: d.Required, Target: probes.HostPort(d.Host, d.Port),
				Facets: probes.Facets{Area: probes.AreaInstance, Role: probes.RoleInstanceDeps, Protocol: probes.ProtoTCP, Phase: probes.DeployPost}},
			Result: r,
		})
	}
	return parts, all && len(parts) > 0
}

// depsResult judges the probed dependency list: a required host failing
// fails the check; an optional one, or a required one that only warns
// (this VM's own NIC NSG denied it), warns.
func depsResult(seen []depSeen, dups []depDup, hosts int, cut snapshot.DepsCut) probes.Result {
	ev := map[string]any{"dependencies": seen, "probed_by_catalogue": dups, "hosts_listed": hosts}
	var req, opt []depSeen
	for _, d := range seen {
		if d.Status == probes.Fail || d.Status == probes.Warn {
			if d.Required && d.Status == probes.Fail {
				req = append(req, d)
			} else {
				opt = append(opt, d)
			}
		}
	}
	summary := fmt.Sprintf("%d of the instance's own dependencies probed from here (%d more by the catalogue's checks)", len(seen), len(dups))
	if w := cut.Words(); w != "" {
		// A list too long to probe whole: what was left out is said first.
		summary += "; " + w
		ev["not_probed"] = map[string]any{"pairs": cut.Pairs, "hosts": cut.Hosts}
	}
	if len(req)+len(opt) == 0 {
		res := probes.Passf(summary + "; every one answers")
		res.Evidence = ev
		return res
	}
	bad := append(append([]depSeen{}, req...), opt...)
	var parts []string
	disagree := false
	for _, d := range bad {
		p := fmt.Sprintf("%s:%d (%s, %s) %s", d.Host, d.Port, d.Category, d.Reason, d.Message)
		if s := instanceWords(d.Instance); s != "" {
			p += "; " + s
			disagree = disagree || allSuccess(d.Instance)
		}
		parts = append(parts, p)
	}
	first := bad[0]
	msg := summary + "; " + fmt.Sprint(len(bad)) + " fail from this VM: " + strings.Join(parts, " · ")
	hint := fmt.Sprintf("Allow %s on port %d from this subnet in the NSG and firewall (the instance names it in its own dependency list).", first.Host, first.Port)
	if first.fix != "" {
		hint = first.fix
	}
	if disagree {
		hint += " " + differs
	}
	var res probes.Result
	if len(req) > 0 {
		res = probes.Failf(first.Reason, first.Phase, msg)
	} else {
		res = probes.Warnf(first.Reason, first.Phase, msg)
	}
	if res.FailedPhase == probes.PhaseNone {
		res.FailedPhase = probes.PhaseConnect
	}
	res.Hint = hint
	res.Evidence = ev
	return res
}

// instanceWords says what the instance reports, for a message: "the
// instance itself reports success (West Europe, updated 3 min ago)".
func instanceWords(st []probes.InstanceStatus) string {
	if len(st) == 0 {
		return ""
	}
	var parts []string
	for _, s := range st {
		p := s.Location
		if !s.LastUpdated.IsZero() {
			p += ", updated " + ago(s.LastUpdated)
		}
		w := s.Status
		if s.Error != "" {
			w += ": " + s.Error
		}
		parts = append(parts, w+" ("+p+")")
	}
	return "the instance itself reports " + strings.Join(parts, "; ")
}

func allSuccess(st []probes.InstanceStatus) bool {
	for _, s := range st {
		if s.Status != "success" {
			return false
		}
	}
	return len(st) > 0
}

func anyFailure(st []probes.InstanceStatus) bool {
	for _, s := range st {
		if s.Status == "failure" {
			return true
		}
	}
	return false
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 0:
		return t.UTC().Format(time.RFC3339)
	case d < 2*time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < 3*time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	}
	return t.UTC().Format(time.RFC3339)
}

// thisVM finds what this VM saw of a row's dependency: a check whose target
// matches it, else a host instance.dependencies probed.
func thisVM(row snapshot.StatusRow, outs []probes.Outcome, ds []depSeen) (string, probes.Status, bool) {
	for _, o := range outs {
		c := o.Check
		if c.Target.Host == "" || c.Area == probes.AreaInstance || o.Result.Status == probes.Skip {
			continue
		}
		if row.Matches(c.Target.Host, c.Target.Port, c.ResourceType) {
			return c.ID, o.Result.Status, true
		}
	}
	for _, d := range ds {
		if row.Matches(d.Host, d.Port, "") {
			return idInstanceDeps + " (" + d.Host + ":" + fmt.Sprint(d.Port) + ")", d.Status, true
		}
	}
	return "", "", false
}

// instanceFailures is instance.required (optional false) or
// instance.optional: the rows the instance reports as failures.
func instanceFailures(v *snapshot.InstanceView, outs []probes.Outcome, ds []depSeen, optional bool) probes.Result {
	var bad []string
	rows := []probes.InstanceStatus{}
	reachable := false
	total := 0
	for _, l := range v.Locations {
		for _, row := range l.Rows {
			if row.Optional != optional {
				continue
			}
			total++
			if row.Status != "failure" {
				continue
			}
			rows = append(rows, row.Seen(l.Location))
			p := fmt.Sprintf("%s (%s, %s)", row.Name, row.ResourceType, l.Location)
			if row.Error != "" {
				p += ": " + row.Error
			}
			if !row.LastStatusChange.IsZero() {
				p += ", failing since " + row.LastStatusChange.UTC().Format(time.RFC3339)
			}
			if id, st, ok := thisVM(row, outs, ds); ok {
				if st == probes.Pass {
					p += "; this VM reaches it (" + id + " passes)"
					reachable = true
				} else {
					p += "; this VM fails it too (" + id + ")"
				}
			}
			bad = append(bad, p)
		}
	}
	kind := "required"
	if optional {
		kind = "optional"
	}
	ev := map[string]any{"instance_status": rows, "rows": total, "locations": len(v.Locations)}
	if len(bad) == 0 {
		res := probes.Passf(fmt.Sprintf("the instance reports every %s dependency reachable (%d rows in %d locations)", kind, total, len(v.Locations)))
		res.Evidence = ev
		return res
	}
	msg := fmt.Sprintf("the instance reports %d of its %d %s dependencies failing: %s", len(bad), total, kind, strings.Join(bad, " · "))
	hint := "Open the instance's Network status in the portal and allow each failing dependency from the instance's subnet (NSG, route table, firewall)."
	if reachable {
		hint += " " + differs
	}
	var res probes.Result
	if optional {
		res = probes.Warnf(probes.ReasonUnreachable, probes.PhaseAnalysis, msg)
	} else {
		res = probes.Failf(probes.ReasonUnreachable, probes.PhaseAnalysis, msg)
	}
	res.Hint = hint
	res.Evidence = ev
	return res
}

// instanceStale: rows that have missed a refresh (last updated more than
// snapshot.StaleAfter ago). A row whose date is unknown (none, the zero
// date, no zone) is counted as such, never as stale.
func instanceStale(v *snapshot.InstanceView, now time.Time) probes.Result {
	var stale []string
	var oldest time.Time
	total, undated := 0, 0
	for _, l := range v.Locations {
		n := 0
		for _, row := range l.Rows {
			total++
			if row.LastUpdated.IsZero() {
				undated++
				continue
			}
			if row.Stale(now) {
				n++
				if oldest.IsZero() || row.LastUpdated.Before(oldest) {
					oldest = row.LastUpdated
				}
			}
		}
		if n > 0 {
			stale = append(stale, fmt.Sprintf("%d of %d rows of %s", n, len(l.Rows), l.Location))
		}
	}
	limit := int(snapshot.StaleAfter.Minutes())
	ev := map[string]any{"rows": total, "stale_after_minutes": limit}
	unknown := ""
	if undated > 0 {
		ev["rows_without_date"] = undated
		unknown = fmt.Sprintf("; %d rows carry no date with a zone (none, the zero date, or a local time), so their age is unknown", undated)
	}
	if total > 0 && undated == total {
		r := probes.Skipf(probes.ReasonNoData, fmt.Sprintf("none of the %d rows carries a date with a zone (none, the zero date, or a local time): their age is unknown", total),
			"Look at the instance's Network status blade in the portal, which shows when each row was last updated.")
		r.Evidence = ev
		return r
	}
	if len(stale) == 0 {
		res := probes.Passf(fmt.Sprintf("every one of the %d dated rows was updated within the last %d minutes (each is refreshed about every %d minutes, at its own time)%s",
			total-undated, limit, int(snapshot.RefreshEvery.Minutes()), unknown))
		res.Evidence = ev
		return res
	}
	ev["oldest_update"] = oldest.UTC().Format(time.RFC3339)
	res := probes.Warnf(probes.ReasonTimeout, probes.PhaseAnalysis, fmt.Sprintf(
		"%s were last updated more than %d minutes ago (the oldest at %s, %s), missing a refresh due every %d minutes: the instance has lost the connectivity to report them, so its status is not current%s",
		strings.Join(stale, ", "), limit, oldest.UTC().Format(time.RFC3339), ago(oldest), int(snapshot.RefreshEvery.Minutes()), unknown))
	res.Hint = "Check that the instance's subnet lets it reach Azure Storage, SQL and Monitor (its status reporting depends on them) and that the instance is running; compare this VM's checks, which are current."
	res.Evidence = ev
	return res
}

// vmResolvers are the VNet's DNS servers as this VM sees them
// (resolv.conf or --dns-server, and the servers behind a local stub
// resolver in place of the stub), not the Azure DNS that apimprobe adds to
// compare with. missing says why the servers behind a stub are unknown.
func (w world) vmResolvers() (vm []resolverSeen, missing string) {
	if w.set == nil {
		return nil, ""
	}
	for _, s := range w.set.Servers() {
		if s.Source != resolver.SourceAzureDNS {
			vm = append(vm, resolverSeen{addr: s.Addr.Addr(), stub: s.Stub(), source: s.Source})
		}
	}
	return vm, w.set.UpstreamsMissing()
}

// resolverSeen is one of this VM's resolvers: a local stub's answers come
// from its upstream servers, so a stub is never compared with the
// instance's servers.
type resolverSeen struct {
	addr   netip.Addr
	stub   bool
	source string
}

// instanceDNS compares the DNS servers each location uses with this VM's
// (the servers behind a local stub, not the stub: NetworkStatus lists real
// servers).
func instanceDNS(v *snapshot.InstanceView, vm []resolverSeen, missing string) probes.Result {
	var vmS, stubs []string
	for _, r := range vm {
		if r.stub {
			stubs = append(stubs, r.addr.String())
			continue
		}
		vmS = append(vmS, r.addr.String())
	}
	ev := map[string]any{"this_vm": vmS}
	if len(stubs) > 0 {
		ev["local_stub"] = stubs
	}
	if len(vmS) == 0 && len(stubs) > 0 {
		msg := "this VM asks only a local stub resolver (" + strings.Join(stubs, ", ") + ") whose upstream servers are unknown"
		if missing != "" {
			msg = missing
		}
		r := probes.Skipf(probes.ReasonNoData, msg+": the VNet's DNS servers cannot be compared with the instance's",
			"Run apimprobe with --dns-server set to the VNet's DNS servers (resolvectl status lists the stub's), to compare them with the instance's.")
		r.Evidence = ev
		return r
	}
	inst := map[string][]string{}
	var differ []string
	for _, l := range v.Locations {
		inst[l.Location] = l.DNSServers
		if !sameSet(l.DNSServers, vmS) {
			differ = append(differ, fmt.Sprintf("%s uses %s", l.Location, listOr(l.DNSServers)))
		}
	}
	ev["instance"] = inst
	if len(v.Locations) == 0 {
		return probes.Skipf(probes.ReasonNoData, "the instance's network status lists no location", instanceHint(""))
	}
	behind := ""
	if len(stubs) > 0 {
		behind = ", behind its local stub resolver " + strings.Join(stubs, ", ")
	}
	if len(differ) == 0 {
		res := probes.Passf("the instance uses the same DNS servers as this VM (" + listOr(vmS) + behind + ")")
		res.Evidence = ev
		return res
	}
	res := probes.Warnf(probes.ReasonResolverDisagree, probes.PhaseAnalysis, fmt.Sprintf(
		"the instance's DNS servers differ from this VM's (%s%s): %s; this VM's DNS verdicts do not carry over to the instance",
		listOr(vmS), behind, strings.Join(differ, "; ")))
	res.Hint = "The instance resolves with its virtual network's DNS servers as they were when its network configuration was last applied: " +
		"after changing them, apply it (the portal's Apply network configuration, or a POST to the instance's applynetworkconfigurationupdates action); run apimprobe with --dns-server set to the instance's servers to judge names the way it does."
	res.Evidence = ev
	return res
}

func sameSet(a, b []string) bool {
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	n := map[string]bool{}
	for _, x := range b {
		n[x] = true
	}
	if len(m) != len(n) {
		return false
	}
	for x := range m {
		if !n[x] {
			return false
		}
	}
	return true
}

func listOr(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// annotateInstance gives every check that matches a NetworkStatus row the
// instance's side (Result.Instance), and says where the two disagree: this
// VM fails what the instance reaches, or reaches what the instance fails.
func annotateInstance(outs []probes.Outcome, v *snapshot.InstanceView) {
	if v == nil || len(v.Locations) == 0 {
		return
	}
	for i := range outs {
		o := &outs[i]
		c := o.Check
		if c.Area == probes.AreaInstance || o.Result.Status == probes.Skip {
			continue
		}
		if c.Target.Host == "" && c.ResourceType == "" {
			continue
		}
		st := snapshot.StatusFor(v.Locations, c.Target.Host, c.Target.Port, c.ResourceType)
		if len(st) == 0 {
			continue
		}
		o.Result.Instance = st
		// An analysis reached nothing itself: it judged routes or rules,
		// so the instance's word is about its traffic, not about reach.
		analysis := c.Kind == probes.KindAnalysis
		switch res := &o.Result; {
		case (res.Status == probes.Fail || res.Status == probes.Warn) && allSuccess(st):
			if analysis {
				res.Message += " [" + instanceWords(st) + ": its own traffic gets through today, despite what this check judged]"
			} else {
				res.Message += " [" + instanceWords(st) + ": the instance reaches what this VM does not]"
			}
			res.Hint = strings.TrimSpace(res.Hint + " " + differs)
		case res.Status == probes.Pass && anyFailure(st):
			if analysis {
				res.Message += " [" + instanceWords(st) + ": its own traffic fails although this check found nothing wrong; see " + idInstanceRequired + "]"
			} else {
				res.Message += " [" + instanceWords(st) + ": this VM reaches what the instance does not; see " + idInstanceRequired + "]"
			}
		}
	}
}
