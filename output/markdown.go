package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func init() { register("markdown", FormatFunc(renderMarkdown)) }

// renderMarkdown writes a report to paste into a support ticket (GitHub
// flavoured Markdown, which Azure DevOps, GitHub and most ticket systems
// render): the verdict and context first, then what failed with the fix,
// then every check, then the evidence of each failure and warning.
func renderMarkdown(w io.Writer, r *report.Report, _ Options) error {
	bw := bufio.NewWriter(w)
	title := "apimprobe report"
	if r.Context.Service != "" {
		title += ": " + r.Context.Service
	}
	fmt.Fprintf(bw, "# %s\n\n", mdText(title))

	verdict := strings.ToUpper(r.Summary.Verdict)
	if verdict == "" {
		verdict = "UNKNOWN"
	}
	fmt.Fprintf(bw, "**Verdict: %s** — %s.\n\n", verdict, mdText(countsSentence(r)))
	if r.Summary.Headline != "" && len(r.Findings) == 0 {
		fmt.Fprintf(bw, "> %s\n\n", mdCell(r.Summary.Headline))
	}

	explained := map[string]bool{}
	if len(r.Findings) > 0 {
		fmt.Fprintln(bw, "## Findings")
		for i, f := range r.Findings {
			writeMarkdownFinding(bw, i+1, f)
			for _, id := range f.Checks {
				explained[id] = true
			}
		}
		fmt.Fprintln(bw)
	}

	fmt.Fprintln(bw, "## Context")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Context | |")
	fmt.Fprintln(bw, "|---|---|")
	for _, kv := range mdContext(r) {
		fmt.Fprintf(bw, "| %s | %s |\n", kv[0], mdCell(kv[1]))
	}

	bad := failing(r.Checks, nil)
	if len(bad) > 0 {
		fmt.Fprintln(bw, "\n## Failures and warnings")
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, "| Status | Check | Required | Target | Reason | Instance reports | Finding | Fix |")
		fmt.Fprintln(bw, "|---|---|---|---|---|---|---|---|")
		for _, c := range bad {
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
				mdStatus(c.Status), mdCode(c.ID), yesNo(c.Required), mdCode(c.Target),
				mdCell(reasonCell(c)), mdCell(instanceCell(c)), findingOf(r.Findings, c.ID), mdCell(c.Hint))
		}
	}

	fmt.Fprintln(bw, "\n## All checks")
	fmt.Fprintln(bw)
	if len(r.Checks) == 0 {
		fmt.Fprintln(bw, "No checks were run.")
	} else {
		fmt.Fprintln(bw, "| Status | Check | Category | Required | Target | Reason | Duration | Instance reports | Message |")
		fmt.Fprintln(bw, "|---|---|---|---|---|---|---:|---|---|")
		for _, c := range r.Checks {
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				mdStatus(c.Status), mdCode(c.ID), mdCell(c.Category), yesNo(c.Required),
				mdCode(c.Target), mdCell(reasonCell(c)), durationCell(c), mdCell(instanceCell(c)), mdCell(c.Message))
		}
	}

	if len(bad) > 0 {
		fmt.Fprintln(bw, "\n## Evidence")
		for _, c := range bad {
			writeMarkdownEvidence(bw, c)
		}
	}
	return bw.Flush()
}

// writeMarkdownFinding is one finding: severity and title, the cause, the
// fix and its commands in a shell block, the checks it explains.
func writeMarkdownFinding(w io.Writer, n int, f report.Finding) {
	fmt.Fprintf(w, "\n### %d. %s — %s\n\n", n, strings.ToUpper(f.Severity), mdText(f.Title))
	fmt.Fprintf(w, "%s\n\n", mdCell(f.Cause))
	fmt.Fprintf(w, "**Fix:** %s\n", mdCell(f.Fix.Summary))
	if len(f.Fix.Commands) > 0 {
		body := strings.Join(f.Fix.Commands, "\n")
		fence := mdFence(body)
		fmt.Fprintf(w, "\n%sshell\n%s\n%s\n", fence, body, fence)
	}
	codes := make([]string, len(f.Checks))
	for i, id := range f.Checks {
		codes[i] = mdCode(id)
	}
	fmt.Fprintf(w, "\nFinding %s explains %s: %s.\n", mdCode(f.ID), plural(len(f.Checks), "check", "checks"), strings.Join(codes, ", "))
}

// findingOf is the number of the finding that explains a check, or "".
func findingOf(fs []report.Finding, id string) string {
	for i, f := range fs {
		for _, c := range f.Checks {
			if c == id {
				return fmt.Sprintf("%d", i+1)
			}
		}
	}
	return ""
}

func countsSentence(r *report.Report) string {
	s := r.Summary
	return fmt.Sprintf("%d failed, %s, %d passed, %d skipped in %s",
		s.Fail, plural(s.Warn, "warning", "warnings"), s.Pass, s.Skip, fmtDuration(r.DurationMS))
}

func mdContext(r *report.Report) [][2]string {
	c := r.Context
	var rows [][2]string
	add := func(k, v, source string) {
		if v == "" {
			return
		}
		if s := c.Sources[source]; s != "" {
			v += " (from " + s + ")"
		}
		rows = append(rows, [2]string{k, v})
	}
	add("Service", c.Service, "service")
	if in := c.Instance; in != nil {
		add("Instance", in.ID, "")
		sku := in.SKU
		if in.Capacity > 0 {
			sku += fmt.Sprintf(" (%d units)", in.Capacity)
		}
		add("SKU", sku, "")
		add("Platform", in.Platform, "")
		add("Locations", strings.Join(in.Locations, ", "), "")
	}
	add("Mode", string(c.Mode), "mode")
	add("Phase", string(c.Phase), "phase")
	add("Cloud", string(c.Cloud), "cloud")
	add("Region", c.Region, "region")
	add("Subscription", c.SubscriptionID, "subscription_id")
	add("Resource group", c.ResourceGroup, "resource_group")
	add("Subnet", c.Subnet, "subnet")
	add("VM", strings.Trim(c.Hostname+", "+c.VMPrivateIP, ", "), "vm_private_ip")
	add("VM public IP", c.VMPublicIP, "vm_public_ip")
	add("Instance private IP", c.InstancePrivateIP, "instance_private_ip")
	add("Instance public IP", c.InstancePublicIP, "instance_public_ip")
	resolvers := strings.Join(resolverList(c), ", ")
	if c.ResolverNote != "" {
		resolvers += "; " + c.ResolverNote
	}
	add("Resolvers", resolvers, "resolvers")
	add("Credential", c.Credential, "credential")
	if !r.StartedAt.IsZero() {
		add("Started (UTC)", r.StartedAt.UTC().Format("2006-01-02T15:04:05Z")+", took "+fmtDuration(r.DurationMS), "")
	}
	tool := strings.TrimSpace(r.Tool.Name + " " + r.Tool.Version)
	if r.Tool.Commit != "" {
		tool += " (" + r.Tool.Commit + ")"
	}
	add("Tool", tool, "")
	if c.Command != "" {
		rows = append(rows, [2]string{"Command", c.Command})
	}
	return rows
}

func writeMarkdownEvidence(w io.Writer, c report.Check) {
	fmt.Fprintf(w, "\n### %s — %s\n\n", mdCode(c.ID), mdText(c.Title))
	if c.Message != "" {
		fmt.Fprintf(w, "- Message: %s\n", mdCell(c.Message))
	}
	if c.Target != "" {
		fmt.Fprintf(w, "- Target: %s\n", mdCode(c.Target))
	}
	if len(c.Addresses) > 0 {
		codes := make([]string, len(c.Addresses))
		for i, a := range c.Addresses {
			codes[i] = mdCode(a)
		}
		fmt.Fprintf(w, "- Addresses: %s\n", strings.Join(codes, ", "))
	}
	if len(c.Phases) > 0 {
		keys := phaseKeys(c.Phases)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d ms", strings.TrimSuffix(k, "_ms"), c.Phases[k])
		}
		fmt.Fprintf(w, "- Phases: %s\n", mdText(strings.Join(parts, ", ")))
	}
	if c.Hint != "" {
		fmt.Fprintf(w, "- Fix: %s\n", mdCell(c.Hint))
	}
	if len(c.Evidence) > 0 {
		b, err := json.MarshalIndent(c.Evidence, "", "  ")
		if err != nil {
			b = []byte(fmt.Sprintf("%q", err.Error()))
		}
		fence := mdFence(string(b))
		fmt.Fprintf(w, "\n%sjson\n%s\n%s\n", fence, b, fence)
	}
}

// mdFence is a code fence longer than any run of backticks in s, so evidence
// from the network cannot close the block early.
func mdFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func mdStatus(s probes.Status) string {
	word := strings.ToUpper(string(s))
	if s == probes.Fail || s == probes.Warn {
		return "**" + word + "**"
	}
	return word
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// mdText escapes Markdown's inline punctuation with backslashes (GFM allows
// a backslash before any ASCII punctuation), so text from the network reads
// as text: no emphasis, links, HTML or table cells appear from a message.
// Control characters are dropped and newlines become spaces.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r):
		case strings.ContainsRune("\\`*_[]<>|#!~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCell is mdText for a table cell or list item, keeping line breaks as
// <br> (the only way to break a line inside a GFM table cell).
func mdCell(s string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(mdText(l))
	}
	return strings.Join(lines, "<br>")
}

// mdCode renders an id, host or address as a code span, where backslash
// escapes do not work; GFM still needs \| inside a table cell. Anything a
// code span cannot hold (a backtick, a line break) falls back to text.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "`\n\r") || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return mdCell(s)
	}
	return "`" + strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "|", `\|`) + "`"
}
