// Package goldentest makes a real report fit to be a golden file: what a
// run measures or draws by chance (durations, round trips, timestamps,
// certificate fingerprints of a CA made fresh for each lab run, which of the
// servers not waited for had answered by then) is masked, so that two runs
// of the same scenario give the same file and a change of wording shows as
// the few lines it changes. It is imported by tests only.
package goldentest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// Masks: what replaces a measured value.
const (
	MaskTime   = "2026-01-01T00:00:00Z"
	MaskSHA256 = "<sha256>"
	MaskRace   = "not-waited-for"
)

var (
	// A measured duration in prose: "in 2ms", "within 1.988s", "4.5µs".
	// The left boundary keeps "v2s" and ids intact.
	proseDuration = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|us|µs|ms|s)\b`)
	// A signed offset once its number is masked: "offset -Nms".
	signedMask = regexp.MustCompile(`[+-]N(ns|us|µs|ms|s)\b`)
	timestamp  = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	sha256Hex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Normalize returns the report (JSON) with its measured values masked,
// indented as the lab saves it, its fields in their order. Applying it twice
// changes nothing.
func Normalize(report []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(report))
	d.UseNumber()
	v, err := decode(d)
	if err != nil {
		return nil, err
	}
	v = mask("", v)
	var out bytes.Buffer
	if err := encode(&out, v, ""); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// object is a JSON object that keeps its keys' order.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) any { return o.vals[k] }

func decode(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		o := &object{vals: map[string]any{}}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := decode(d)
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, k.(string))
			o.vals[k.(string)] = v
		}
		_, err := d.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for d.More() {
			v, err := decode(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token()
		return a, err
	}
	return t, nil
}

// encode writes v as json.MarshalIndent(v, "", "  ") would.
func encode(w *bytes.Buffer, v any, indent string) error {
	switch x := v.(type) {
	case *object:
		if len(x.keys) == 0 {
			w.WriteString("{}")
			return nil
		}
		w.WriteString("{\n")
		for i, k := range x.keys {
			w.WriteString(indent + "  ")
			if err := scalar(w, k); err != nil {
				return err
			}
			w.WriteString(": ")
			if err := encode(w, x.vals[k], indent+"  "); err != nil {
				return err
			}
			if i < len(x.keys)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "}")
		return nil
	case []any:
		if len(x) == 0 {
			w.WriteString("[]")
			return nil
		}
		w.WriteString("[\n")
		for i, e := range x {
			w.WriteString(indent + "  ")
			if err := encode(w, e, indent+"  "); err != nil {
				return err
			}
			if i < len(x)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "]")
		return nil
	}
	return scalar(w, v)
}

func scalar(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Truncate(w.Len() - 1) // Encode's newline
	return nil
}

// mask masks v, the value of key.
func mask(key string, v any) any {
	switch x := v.(type) {
	case *object:
		for _, k := range x.keys {
			x.vals[k] = mask(k, x.vals[k])
		}
		if rs, ok := x.get("resolvers").([]any); ok {
			if chosen, ok := x.get("chosen").(string); ok {
				x.vals["resolvers"] = maskRaces(rs, chosen)
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = mask(key, e)
		}
		return x
	case json.Number:
		if measured(key) {
			return json.Number("0")
		}
		return x
	case string:
		if strings.HasSuffix(key, "sha256") || sha256Hex.MatchString(x) {
			return MaskSHA256
		}
		if key == "command" {
			return x // the flags given: what was asked, not measured
		}
		return prose(x)
	}
	return v
}

// measured says a number under key is a time the run measured: a duration,
// a round trip, a wait, an offset (every *_ms and *_us field).
func measured(key string) bool {
	return strings.HasSuffix(key, "_ms") || strings.HasSuffix(key, "_us")
}

// prose masks the timestamps and durations inside a string.
func prose(s string) string {
	s = timestamp.ReplaceAllString(s, MaskTime)
	s = proseDuration.ReplaceAllStringFunc(s, func(d string) string {
		for _, unit := range []string{"ns", "us", "µs", "ms", "s"} {
			if strings.HasSuffix(d, unit) {
				return "N" + unit
			}
		}
		return d
	})
	return signedMask.ReplaceAllStringFunc(s, func(m string) string { return m[1:] })
}

// maskRaces keeps, of the servers a probe did not take its answer from,
// only who they are: whether each had answered when the answer was taken is
// a race (the VM does not wait for them), not what the scenario shows.
func maskRaces(rs []any, chosen string) []any {
	for i, r := range rs {
		m, ok := r.(*object)
		if !ok || m.get("resolver") == chosen {
			continue
		}
		kept := &object{vals: map[string]any{}}
		for _, k := range m.keys {
			if k == "resolver" || k == "role" || k == "source" {
				kept.keys = append(kept.keys, k)
				kept.vals[k] = m.vals[k]
			}
		}
		kept.keys = append(kept.keys, "outcome")
		kept.vals["outcome"] = MaskRace
		rs[i] = kept
	}
	return rs
}
