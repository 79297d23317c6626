package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apimprobe/apimprobe/probes"
)

// PlanFormats are the formats `apimprobe plan` accepts.
func PlanFormats() []string { return []string{"json", "markdown", "table"} }

// RenderPlan prints the checks `apimprobe run` would make, sorted by id, for
// the firewall team: what is contacted (kind, target, port), whether the
// instance needs it, why, and which checks will be skipped and what would
// enable them. It needs no network and reads only the checks' data.
func RenderPlan(w io.Writer, checks []probes.Check, format string, o Options) error {
	sorted := append([]probes.Check(nil), checks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	switch format {
	case "table":
		return planTable(w, sorted, o)
	case "json":
		return planJSON(w, sorted)
	case "markdown":
		return planMarkdown(w, sorted)
	}
	return fmt.Errorf("unknown plan format %q (known: %s)", format, strings.Join(PlanFormats(), ", "))
}

// PlanEntry is one element of `apimprobe plan -o json`.
type PlanEntry struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Category     string `json:"category"`
	ResourceType string `json:"resource_type,omitempty"`
	Required     bool   `json:"required"`
	Kind         string `json:"kind"`
	Target       string `json:"target,omitempty"`
	// Port is the TCP port the check connects to, when the target says it
	// (host:port, or a URL's scheme).
	Port   int    `json:"port,omitempty"`
	Why    string `json:"why,omitempty"`
	Source string `json:"source,omitempty"`
	// Preset is set for a check already decided at planning time, usually a
	// skip (no-data, not-applicable) with the hint that would enable it.
	Preset *PlanPreset `json:"preset,omitempty"`
}

type PlanPreset struct {
	Status  probes.Status `json:"status"`
	Reason  probes.Reason `json:"reason"`
	Message string        `json:"message,omitempty"`
	Hint    string        `json:"hint,omitempty"`
}

// WritePlan renders the plan once per spec, to standard output or
// atomically to the spec's file, as WriteAll does for reports. A format plan
// does not print is an error before anything is written.
func WritePlan(specs []Spec, checks []probes.Check, stdout io.Writer, o Options) error {
	for _, sp := range specs {
		if !slices.Contains(PlanFormats(), sp.Format) {
			return fmt.Errorf("-o %s: plan prints %s", sp.Format, strings.Join(PlanFormats(), ", "))
		}
	}
	return writeEach(specs, stdout, o, "plan", func(w io.Writer, format string, o Options) error {
		return RenderPlan(w, checks, format, o)
	})
}

func planEntry(c probes.Check) PlanEntry {
	e := PlanEntry{
		ID: c.ID, Title: c.Title, Category: c.Category, ResourceType: c.ResourceType,
		Required: c.Required, Kind: string(c.Kind), Target: c.Target.String(), Port: c.Target.Port,
		Why: c.Why, Source: c.Source,
	}
	if p := c.Preset; p != nil {
		e.Preset = &PlanPreset{Status: p.Status, Reason: p.Reason, Message: p.Message, Hint: p.Hint}
	}
	return e
}

// targetPort reads the port from host:port or from a URL. DNS and analysis
// targets are names, not destinations, and have none.
func targetPort(kind, target string) int {
	if k, known := probes.LookupKind(probes.Kind(kind)); (known && !k.Dials) || target == "" {
		return 0
	}
	if u, err := url.Parse(target); err == nil && u.Scheme != "" && u.Host != "" {
		if p := u.Port(); p != "" {
			n, _ := strconv.Atoi(p)
			return n
		}
		switch u.Scheme {
		case "https":
			return 443
		case "http":
			return 80
		}
		return 0
	}
	if _, p, err := net.SplitHostPort(target); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
			return n
		}
	}
	return 0
}

func planJSON(w io.Writer, checks []probes.Check) error {
	entries := make([]PlanEntry, 0, len(checks))
	for _, c := range checks {
		entries = append(entries, planEntry(c))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(entries)
}

func needWord(required bool) string {
	if required {
		return "required"
	}
	return "optional"
}

func presetLine(p *probes.Result) string {
	s := fmt.Sprintf("will be skipped (%s)", p.Reason)
	if p.Status != probes.Skip {
		s = fmt.Sprintf("decided at planning: %s (%s)", p.Status, p.Reason)
	}
	if p.Message != "" {
		s += ": " + p.Message
	}
	return s
}

// destination is what a firewall rule names: host:port. For a URL target
// the path is left to the JSON and Markdown (the why says what is fetched).
func destination(kind, target string) string {
	if u, err := url.Parse(target); err == nil && u.Scheme != "" && u.Host != "" {
		if p := targetPort(kind, target); p > 0 {
			return net.JoinHostPort(u.Hostname(), strconv.Itoa(p))
		}
		return u.Host
	}
	return target
}

// planTable: ID, NEED, KIND, DESTINATION, then the why on the lines under
// each row. Ids are never cut (they are what --only and --skip take), and
// a destination too wide for its column goes whole on the line under the
// row (cut only past the terminal's width; the JSON has everything). Preset checks get an arrow line saying they will be
// skipped and what would enable them.
func planTable(w io.Writer, checks []probes.Check, o Options) error {
	bw := bufio.NewWriter(w)
	width := o.width()
	gap := "  "
	idW, needW, kindW, destW := len("ID"), len("optional"), len("KIND"), len("DESTINATION")
	req, opt, preset := 0, 0, 0
	for _, c := range checks {
		idW = max(idW, runeLen(c.ID))
		kindW = max(kindW, runeLen(string(c.Kind)))
		destW = max(destW, runeLen(oneLine(destination(string(c.Kind), c.Target.String()))))
		if c.Required {
			req++
		} else {
			opt++
		}
		if c.Preset != nil {
			preset++
		}
	}
	// Ids are never cut; when they leave under 12 columns for the
	// destination, every destination goes on a line of its own.
	room := width - idW - needW - kindW - 3*len(gap)
	stacked := room < 12
	destW = min(destW, room)

	summary := fmt.Sprintf("%d checks: %d required, %d optional", len(checks), req, opt)
	if preset > 0 {
		summary += fmt.Sprintf("; %d will be skipped as planned", preset)
	}
	for _, l := range wrap(summary+".", width) {
		fmt.Fprintln(bw, l)
	}
	fmt.Fprintln(bw)
	header := pad("ID", idW) + gap + pad("NEED", needW) + gap + pad("KIND", kindW) + gap + "DESTINATION"
	if stacked {
		header = pad("ID", idW) + gap + pad("NEED", needW) + gap + "KIND"
	}
	fmt.Fprintln(bw, paint(o.Color, ansiBold, header))
	for _, c := range checks {
		dest := oneLine(destination(string(c.Kind), c.Target.String()))
		// A destination is what a firewall rule is made from: one too
		// wide for its column goes whole on the next line instead.
		below := stacked || runeLen(dest) > destW
		row := pad(c.ID, idW) + gap + pad(needWord(c.Required), needW) + gap + pad(string(c.Kind), kindW) + gap
		if !below {
			row += dest
		}
		fmt.Fprintln(bw, strings.TrimRight(row, " "))
		if below {
			fmt.Fprintln(bw, "    "+truncMiddle(dest, width-4))
		}
		for _, l := range wrap(c.Why, width-4) {
			fmt.Fprintln(bw, "    "+l)
		}
		if c.Preset != nil {
			for i, l := range wrap(presetLine(c.Preset), width-6) {
				lead := "  → "
				if i > 0 {
					lead = "    "
				}
				fmt.Fprintln(bw, paint(o.Color, ansiDim, lead+l))
			}
			for _, l := range wrap(c.Preset.Hint, width-6) {
				fmt.Fprintln(bw, "    "+l)
			}
		}
	}
	return bw.Flush()
}

func planMarkdown(w io.Writer, checks []probes.Check) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# apimprobe plan")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Check | Kind | Target | Port | Required | Why |")
	fmt.Fprintln(bw, "|---|---|---|---:|---|---|")
	for _, c := range checks {
		why := mdCell(c.Why)
		if c.Preset != nil {
			note := "*" + mdText(presetLine(c.Preset)) + "*"
			if c.Preset.Hint != "" {
				note += " " + mdCell(c.Preset.Hint)
			}
			why = strings.TrimPrefix(why+"<br>"+note, "<br>")
		}
		port := ""
		if p := c.Target.Port; p > 0 {
			port = strconv.Itoa(p)
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s |\n",
			mdCode(c.ID), mdText(string(c.Kind)), mdCode(c.Target.String()), port, yesNo(c.Required), why)
	}
	return bw.Flush()
}
