package report

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/probes"
)

// MaxText bounds one string of a report: what came from the network (a DNS
// name, an HTTP body, a certificate field, a Resource Manager error) can be
// as long as its sender likes, and a report is read on a terminal and in a
// ticket.
const MaxText = 2048

// Clean makes every string of the report safe to print: control characters
// (an ESC that recolours a terminal, a newline that forges a Prometheus
// series or a Markdown row) and bidirectional controls (a U+202E in a
// Resource Manager name that shows "deny" as "yned") become spaces, whatever
// looks like a token is removed (probes.ScrubSecrets), invalid
// UTF-8 is replaced, and
// each string is cut at MaxText runes with "…". The probes clean what they
// take from the wire already; this is the last pass before any output, so
// that nothing untrusted reaches one as it came.
func (r *Report) Clean() {
	c := &r.Context
	for _, p := range []*string{&c.Hostname, &c.VMPrivateIP, &c.VMPublicIP, &c.Subnet, &c.Region,
		&c.SubscriptionID, &c.ResourceGroup, &c.Service, &c.InstancePrivateIP, &c.InstancePublicIP,
		&c.Credential, &c.Command} {
		*p = CleanText(*p)
	}
	cleanAll(c.Resolvers)
	for k, v := range c.Sources {
		c.Sources[k] = CleanText(v)
	}
	if in := c.Instance; in != nil {
		in.ID, in.SKU, in.Platform = CleanText(in.ID), CleanText(in.SKU), CleanText(in.Platform)
		cleanAll(in.Locations)
	}
	r.Summary.Headline = CleanText(r.Summary.Headline)
	for i := range r.Checks {
		ch := &r.Checks[i]
		ch.Title, ch.Target, ch.Message, ch.Hint = CleanText(ch.Title), CleanText(ch.Target), CleanText(ch.Message), CleanText(ch.Hint)
		cleanAll(ch.Addresses)
		ch.Evidence = cleanEvidence(ch.Evidence)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		f.Title, f.Cause, f.Fix.Summary = CleanText(f.Title), CleanText(f.Cause), CleanText(f.Fix.Summary)
		cleanAll(f.Fix.Commands)
		f.Evidence = cleanEvidence(f.Evidence)
	}
}

// CleanText is one string made safe to print (see Clean).
func CleanText(s string) string {
	s = probes.ScrubSecrets(s)
	clean := utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxText
	for _, r := range s {
		if unprintable(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if n == MaxText {
			b.WriteString("…")
			break
		}
		if unprintable(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// unprintable is what never reaches an output as it came: control
// characters, and the characters that reorder text on display (Trojan
// Source: U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F, U+061C),
// which unicode.IsControl does not count.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200E || r == 0x200F || r == 0x061C
}

func cleanAll(ss []string) {
	for i, s := range ss {
		ss[i] = CleanText(s)
	}
}

// cleanEvidence cleans every string in an evidence map, whatever its
// shape, into a new map: the shapes probes use (strings, numbers, lists
// and maps of them) are walked directly; any other value (a typed struct)
// goes through JSON, which the report writes anyway, into plain maps,
// slices and values whose strings are cleaned.
func cleanEvidence(ev map[string]any) map[string]any {
	if len(ev) == 0 {
		return ev
	}
	out, err := cleanValue(ev)
	if err != nil {
		return map[string]any{"error": "evidence could not be written: " + CleanText(err.Error())}
	}
	return out.(map[string]any)
}

func cleanValue(v any) (any, error) {
	switch t := v.(type) {
	case nil, bool, int, int64, uint16, float64:
		return t, nil
	case string:
		return CleanText(t), nil
	case []string:
		out := make([]string, len(t))
		for i, x := range t {
			out[i] = CleanText(x)
		}
		return out, nil
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, x := range t {
			out[CleanText(k)] = CleanText(x)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			c, err := cleanValue(x)
			if err != nil {
				return nil, err
			}
			out[CleanText(k)] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			c, err := cleanValue(x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	// A string of a named type (probes.Reason, probes.Phase) that writes
	// itself as JSON does any string: the string.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String && !writesItself(rv.Type()) {
		return CleanText(rv.String()), nil
	}
	// A typed value: as JSON writes it, then cleaned where it lies (the
	// decoded value is this function's own).
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, err
	}
	return cleanOwned(plain), nil
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// writesItself: values of t (or *t) have a JSON or text form of their own.
func writesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// cleanOwned cleans what json.Unmarshal made (strings, numbers, booleans,
// nil, []any and map[string]any) in place: nothing else holds it.
func cleanOwned(v any) any {
	switch t := v.(type) {
	case string:
		return CleanText(t)
	case []any:
		for i, x := range t {
			t[i] = cleanOwned(x)
		}
	case map[string]any:
		var renamed map[string]any
		for k, x := range t {
			c := cleanOwned(x)
			if ck := CleanText(k); ck != k {
				// Put back after the loop, which must not meet them.
				if renamed == nil {
					renamed = map[string]any{}
				}
				delete(t, k)
				renamed[ck] = c
				continue
			}
			t[k] = c
		}
		for k, x := range renamed {
			t[k] = x
		}
	}
	return v
}
