package output

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func init() { register("prometheus", FormatFunc(renderPrometheus)) }

// renderPrometheus writes the Prometheus text exposition format (0.0.4) for
// node_exporter's textfile collector: run `apimprobe run -o
// prometheus=/var/lib/prometheus/node-exporter/apimprobe-NAME.prom` (Debian's
// textfile directory) from a timer;
// WriteAll's atomic rename is what the collector's documentation asks for.
//
// Each check is one apimprobe_check_status series with value 1 whose labels
// carry its status and reason, so `apimprobe_check_status{status="fail",
// required="true"}` is an alert. The verdict is a state set (one series per
// verdict, 1 for the current one), so an alert on blocked == 1 works and a
// missing file is told apart by apimprobe_last_run_timestamp_seconds.
func renderPrometheus(w io.Writer, r *report.Report, _ Options) error {
	// Every series carries the labels that tell one instance's file from
	// another's on the same node_exporter (two textfiles with the same
	// series are duplicates it refuses): the service and the mode.
	p := promWriter{bw: bufio.NewWriter(w), inst: []string{"service", r.Context.Service, "mode", string(r.Context.Mode)}}
	p.checks(r)
	p.run(r)
	return p.bw.Flush()
}

// promWriter writes metric families whose series all carry the instance's
// labels.
type promWriter struct {
	bw   *bufio.Writer
	inst []string
}

func (p promWriter) family(name, typ, help string) {
	fmt.Fprintf(p.bw, "# HELP %s %s\n# TYPE %s %s\n", name, promHelp(help), name, typ)
}

func (p promWriter) labels(kv ...string) string {
	return promBraces(append(append([]string{}, p.inst...), kv...)...)
}

// checks writes the series of each check: its status, how long it took,
// and with --state when it entered its status.
func (p promWriter) checks(r *report.Report) {
	p.family("apimprobe_check_status", "gauge",
		"Outcome of one check: always 1; the status and reason labels say what happened.")
	for _, c := range r.Checks {
		fmt.Fprintf(p.bw, "apimprobe_check_status%s 1\n", p.labels(
			"id", c.ID, "category", c.Category, "required", strconv.FormatBool(c.Required),
			"status", string(c.Status), "reason", string(c.Reason)))
	}

	p.family("apimprobe_check_duration_seconds", "gauge", "How long one check took.")
	for _, c := range r.Checks {
		// A skipped check did not run; a 0 would drag averages down.
		if c.Status != probes.Skip {
			fmt.Fprintf(p.bw, "apimprobe_check_duration_seconds%s %s\n", p.labels("id", c.ID), promSeconds(c.DurationMS))
		}
	}

	// With --state: when each check entered its status, so an alert can say
	// "failing since 10:15" and a dashboard can show how long.
	var since []report.Check
	for _, c := range r.Checks {
		if !c.Since.IsZero() {
			since = append(since, c)
		}
	}
	if len(since) > 0 {
		p.family("apimprobe_check_last_change_timestamp_seconds", "gauge",
			"Unix time the check entered its current status (with --state).")
		for _, c := range since {
			fmt.Fprintf(p.bw, "apimprobe_check_last_change_timestamp_seconds%s %s\n", p.labels("id", c.ID), promUnix(c.Since))
		}
	}
}

// run writes the run's series: the counts by status, the verdict, its
// duration and start, and what was tested.
func (p promWriter) run(r *report.Report) {
	p.family("apimprobe_checks", "gauge", "Number of checks by status.")
	s := r.Summary
	for _, st := range []struct {
		status probes.Status
		n      int
	}{{probes.Pass, s.Pass}, {probes.Warn, s.Warn}, {probes.Fail, s.Fail}, {probes.Skip, s.Skip}} {
		fmt.Fprintf(p.bw, "apimprobe_checks%s %d\n", p.labels("status", string(st.status)), st.n)
	}

	p.family("apimprobe_verdict", "gauge", "The run's verdict: 1 for the current one, 0 for the others.")
	verdicts := []string{report.Ready, report.Degraded, report.Blocked}
	if r.Interrupted {
		// Only then: an interrupted run's report never goes to a file, so the
		// textfile collector's series stay the three judged verdicts.
		verdicts = append(verdicts, report.Interrupted)
	}
	for _, v := range verdicts {
		val := 0
		if s.Verdict == v {
			val = 1
		}
		fmt.Fprintf(p.bw, "apimprobe_verdict%s %d\n", p.labels("verdict", v), val)
	}

	p.family("apimprobe_run_duration_seconds", "gauge", "Wall time of the whole run.")
	fmt.Fprintf(p.bw, "apimprobe_run_duration_seconds%s %s\n", p.labels(), promSeconds(r.DurationMS))

	if !r.StartedAt.IsZero() {
		p.family("apimprobe_last_run_timestamp_seconds", "gauge",
			"Unix time the run started; alert when it is older than the timer's period.")
		fmt.Fprintf(p.bw, "apimprobe_last_run_timestamp_seconds%s %s\n", p.labels(), promUnix(r.StartedAt))
	}

	p.family("apimprobe_info", "gauge", "Constant 1; labels describe the tool and what was tested.")
	fmt.Fprintf(p.bw, "apimprobe_info%s 1\n", p.labels(
		"version", r.Tool.Version, "commit", r.Tool.Commit,
		"phase", string(r.Context.Phase), "cloud", string(r.Context.Cloud),
		"region", r.Context.Region, "subnet", r.Context.Subnet))
}

func promUnix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// promLabels renders name="value" pairs. Empty values are left out: in
// Prometheus an empty label is the same as no label.
func promLabels(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		parts = append(parts, kv[i]+`="`+promLabelValue(kv[i+1])+`"`)
	}
	return strings.Join(parts, ",")
}

func promBraces(kv ...string) string {
	if l := promLabels(kv...); l != "" {
		return "{" + l + "}"
	}
	return ""
}

// promLabelValue escapes per the exposition format: backslash, double quote
// and line feed. The format requires UTF-8, so invalid bytes become U+FFFD.
func promLabelValue(s string) string {
	return promLabelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// Built once: a Replacer is costly to make and safe to share.
var (
	promLabelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	promHelpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// promHelp escapes a HELP docstring: backslash and line feed only.
func promHelp(s string) string {
	return promHelpEscaper.Replace(s)
}

func promSeconds(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}
