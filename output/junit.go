package output

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

func init() { register("junit", FormatFunc(renderJUnit)) }

// renderJUnit writes one <testsuite> (inside <testsuites>, the form Jenkins,
// GitLab, GitHub Actions reporters and Azure DevOps all read) with one
// <testcase> per check: classname is the category, name the id. It is valid
// against the common junit-10 XSD (output/testdata/junit-10.xsd).
//
// A CI page is red or green, and that colour must match the exit code, so
// the mapping follows what fails the run:
//   - a required check that fails -> <failure type="REASON"> (or <error>
//     when the reason is "error": the tool broke, not the network);
//   - a warning or an optional failure fails the run only with --strict:
//     then <failure> too; without it <skipped message="warn: …"> or
//     <skipped message="optional failure: …">, visible in every reporter
//     but not red, with the detail in <system-out>;
//   - skip -> <skipped message="REASON: message">.
func renderJUnit(w io.Writer, r *report.Report, o Options) error {
	name := "apimprobe"
	if r.Context.Service != "" {
		name += " " + r.Context.Service
	}
	var failures, errs, skipped int
	for _, c := range r.Checks {
		switch junitOutcome(c, o.Strict) {
		case "error":
			errs++
		case "failure":
			failures++
		case "skipped":
			skipped++
		}
	}
	// junit-10 allows skipped on <testsuite> only.
	counts := fmt.Sprintf(`tests="%d" failures="%d" errors="%d"`, len(r.Checks), failures, errs)
	suiteTime := fmt.Sprintf(`time="%s"`, seconds(r.DurationMS))

	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	fmt.Fprintf(bw, "<testsuites name=\"%s\" %s %s>\n", xmlAttr(name), counts, suiteTime)
	fmt.Fprintf(bw, "  <testsuite name=\"%s\" %s skipped=\"%d\" %s", xmlAttr(name), counts, skipped, suiteTime)
	if !r.StartedAt.IsZero() {
		// JUnit's schema wants a date-time without zone; ours is UTC.
		fmt.Fprintf(bw, ` timestamp="%s"`, r.StartedAt.UTC().Format("2006-01-02T15:04:05"))
	}
	if r.Context.Hostname != "" {
		fmt.Fprintf(bw, ` hostname="%s"`, xmlAttr(r.Context.Hostname))
	}
	bw.WriteString(">\n    <properties>\n")
	for _, kv := range [][2]string{
		{"verdict", r.Summary.Verdict}, {"headline", r.Summary.Headline},
		{"service", r.Context.Service}, {"mode", string(r.Context.Mode)}, {"phase", string(r.Context.Phase)},
		{"cloud", string(r.Context.Cloud)}, {"region", r.Context.Region}, {"subnet", r.Context.Subnet},
		{"strict", strconv.FormatBool(o.Strict)},
		{"version", r.Tool.Version}, {"commit", r.Tool.Commit},
	} {
		if kv[1] != "" {
			fmt.Fprintf(bw, "      <property name=\"%s\" value=\"%s\"/>\n", kv[0], xmlAttr(kv[1]))
		}
	}
	bw.WriteString("    </properties>\n")

	for _, c := range r.Checks {
		writeTestcase(bw, c, o.Strict)
	}
	bw.WriteString("  </testsuite>\n</testsuites>\n")
	return bw.Flush()
}

// writeTestcase writes one check as a testcase: failure or error when it
// fails the run, skipped (with why) when it does not, else passed.
func writeTestcase(bw *bufio.Writer, c report.Check, strict bool) {
	class := c.Category
	if class == "" {
		class = "apimprobe"
	}
	fmt.Fprintf(bw, "    <testcase classname=\"%s\" name=\"%s\" time=\"%s\"",
		xmlAttr(class), xmlAttr(c.ID), seconds(c.DurationMS))
	head := reasonCell(c)
	if c.Message != "" {
		head += ": " + c.Message
	}
	switch outcome := junitOutcome(c, strict); outcome {
	case "failure", "error":
		switch {
		case c.Status == probes.Warn:
			head = "warn: " + head
		case !c.Required:
			head = "optional: " + head
		}
		fmt.Fprintf(bw, ">\n      <%s message=\"%s\" type=\"%s\">%s</%s>\n    </testcase>\n",
			outcome, xmlAttr(head), xmlAttr(string(c.Reason)), xmlText(junitDetail(c)), outcome)
	case "skipped":
		detail := ""
		switch c.Status {
		case probes.Warn:
			head = "warn (fails the run only with --strict): " + head
			detail = junitDetail(c)
		case probes.Fail:
			head = "optional failure (fails the run only with --strict): " + head
			detail = junitDetail(c)
		default:
			if c.Hint != "" {
				detail = "hint: " + c.Hint + "\n"
			}
		}
		fmt.Fprintf(bw, ">\n      <skipped message=\"%s\"/>\n", xmlAttr(head))
		if detail != "" {
			fmt.Fprintf(bw, "      <system-out>%s</system-out>\n", xmlText(detail))
		}
		bw.WriteString("    </testcase>\n")
	default:
		bw.WriteString("/>\n")
	}
}

// junitOutcome is the JUnit element a check becomes ("" for a pass): red
// exactly for what makes the run exit 1 (report.ExitCode).
func junitOutcome(c report.Check, strict bool) string {
	red := c.Status == probes.Fail && c.Required ||
		strict && (c.Status == probes.Warn || c.Status == probes.Fail)
	switch {
	case red && c.Reason == probes.ReasonError:
		return "error"
	case red:
		return "failure"
	case c.Status == probes.Pass:
		return ""
	}
	return "skipped"
}

// junitDetail is the body of a failure or warning: everything a CI reader
// needs without opening the JSON.
func junitDetail(c report.Check) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("status", string(c.Status))
	line("check", c.Title)
	line("target", c.Target)
	line("required", yesNo(c.Required))
	line("reason", string(c.Reason))
	line("phase", string(c.FailedPhase))
	line("message", c.Message)
	line("hint", c.Hint)
	line("addresses", strings.Join(c.Addresses, ", "))
	if len(c.Phases) > 0 {
		var parts []string
		for _, k := range phaseKeys(c.Phases) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, c.Phases[k]))
		}
		line("phases", strings.Join(parts, " "))
	}
	if len(c.Evidence) > 0 {
		if ev, err := json.Marshal(c.Evidence); err == nil {
			line("evidence", string(ev))
		}
	}
	return b.String()
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

// xmlText escapes character data. Characters XML 1.0 cannot hold at all (NUL
// and most C0 controls, which a hostile server can put in a message) become
// U+FFFD, as encoding/xml does, so the document always parses.
func xmlText(s string) string { return xmlEscape(s, false) }

// xmlAttr escapes an attribute value; line breaks and tabs become character
// references so that attribute normalisation does not turn them into spaces.
func xmlAttr(s string) string { return xmlEscape(s, true) }

func xmlEscape(s string, attr bool) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\n' && attr:
			b.WriteString("&#10;")
		case r == '\r':
			b.WriteString("&#13;")
		case r == '\t' && attr:
			b.WriteString("&#9;")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20, r == 0xFFFE, r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
