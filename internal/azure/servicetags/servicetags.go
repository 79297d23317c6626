// Package servicetags loads Azure service tags — the named sets of address
// prefixes (ApiManagement, Storage.WestEurope, AzureCloud …) that NSG rules
// and routes refer to — from the downloadable "Azure IP Ranges and Service
// Tags" JSON file or from Resource Manager's service tag API, and answers
// "which prefixes does tag X cover". The route and NSG analyses and the
// egress check use it to turn tag names into addresses.
package servicetags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/apimprobe/apimprobe/internal/inputfile"
	"github.com/apimprobe/apimprobe/probes"
)

// MaxFileSize bounds what Load reads: the public cloud's file is about 4 MB,
// so 16 MiB leaves room for growth while refusing a runaway input (decoding
// takes several times the file's size in memory).
const MaxFileSize = 16 << 20

// Tag is one service tag.
type Tag struct {
	// Name as Azure spells it: "ApiManagement", "Storage.WestEurope".
	Name string
	// Region is the lower-case region of a regional tag ("westeurope"),
	// empty for a global tag.
	Region        string
	SystemService string
	Prefixes      []netip.Prefix
	// NetworkFeatures lists where the tag may be used (API, NSG, UDR, FW,
	// VSE); only the downloadable file carries it.
	NetworkFeatures []string
}

// RegionalAllowed reports whether NSG rules may use the regional variants
// of a service tag: API Management's documentation allows them only for
// Storage, Sql and EventHub (virtual-network-reference.md, "Regional service
// tags"). Key Vault and Azure Monitor rules need the global tag: a rule
// scoped to AzureMonitor.WestEurope does not cover the global metrics hosts,
// and a customer's key vault may live in another region.
func RegionalAllowed(base string) bool {
	b, _, _ := strings.Cut(strings.ToLower(base), ".")
	switch b {
	case "storage", "sql", "eventhub":
		return true
	}
	return false
}

// changeNumber accepts the file's integer and the API's string alike.
type changeNumber string

func (c *changeNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = changeNumber(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("changeNumber %s is neither a number nor a string", b)
	}
	*c = changeNumber(b)
	return nil
}

// jsonTag is one tag of either shape: the downloadable file and ARM's
// ServiceTagsListResult both have cloud, changeNumber and values[] with name
// and properties.addressPrefixes.
type jsonTag struct {
	Name       string `json:"name"`
	ID         string `json:"id"`
	Properties struct {
		Region          string     `json:"region"`
		SystemService   string     `json:"systemService"`
		AddressPrefixes prefixList `json:"addressPrefixes"`
		NetworkFeatures []string   `json:"networkFeatures"`
	} `json:"properties"`
}

// prefixList decodes addressPrefixes straight into prefixes. The decoder
// has checked the array's JSON already; plain strings (all that Azure
// sends) are read from it directly (a 2.8 MB list: 37.6 → 28.6 ms, 13.5 →
// 7.5 MB allocated), and anything else goes through encoding/json. A
// prefix that does not parse is kept as its error, for tag to name the tag.
type prefixList struct {
	prefixes []netip.Prefix
	bad      error
}

func (l *prefixList) UnmarshalJSON(b []byte) error {
	if out, ok := scanPrefixes(b, l.prefixes[:0]); ok {
		l.prefixes, l.bad = out, nil
		return nil
	}
	var texts []string
	if err := json.Unmarshal(b, &texts); err != nil {
		return err
	}
	l.prefixes = make([]netip.Prefix, 0, len(texts))
	for _, t := range texts {
		p, err := parsePrefix(t)
		if err != nil {
			l.bad = err
			return nil
		}
		l.prefixes = append(l.prefixes, p)
	}
	return nil
}

// scanPrefixes reads a JSON array of strings without escapes that all
// parse as prefixes; ok is false for anything else (null, a number, an
// escape, a bad prefix), which the caller decodes the slow way.
func scanPrefixes(b []byte, out []netip.Prefix) (_ []netip.Prefix, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	if out == nil {
		out = make([]netip.Prefix, 0, bytes.Count(b, []byte{','})+1)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, true
	}
	for i < len(b) && b[i] == '"' {
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return nil, false
		}
		text := b[i+1 : i+1+end]
		if bytes.IndexByte(text, '\\') >= 0 {
			return nil, false
		}
		p, err := parsePrefix(string(text))
		if err != nil {
			// The rest of the array is unread: the slow way decides
			// whether it is a list of strings at all, as encoding/json does.
			return nil, false
		}
		out = append(out, p)
		i = skipSpace(b, i+end+2)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ']':
			return out, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// Parse reads either shape from r, one tag at a time: the public cloud's
// document is about 4 MB and 100,000 prefixes, and only the parsed
// prefixes are kept (in the Set's compact form), never the whole text or
// its strings. It fails with a one-line error on anything that is not a
// service tag document: invalid JSON, no values, a tag without a name, an
// address prefix that does not parse.
func Parse(r io.Reader, source string) (*Set, error) {
	dec := json.NewDecoder(io.LimitReader(r, MaxFileSize+1))
	var (
		cloud  string
		change changeNumber
		b      builder
	)
	if err := delim(dec, '{', "the document"); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notDocument(err)
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "cloud"):
			err = dec.Decode(&cloud)
		case strings.EqualFold(key, "changeNumber"):
			err = dec.Decode(&change)
		case strings.EqualFold(key, "values"):
			err = parseValues(dec, &b)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, notDocument(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notDocument(err)
	}
	if len(b.tags) == 0 {
		return nil, errors.New("not a service tags JSON document: no \"values\" array of tags")
	}
	s, err := b.set(source, cloud, string(change))
	if err != nil {
		return nil, fmt.Errorf("not a service tags JSON document: %v", err)
	}
	return s, nil
}

// parseValues reads the values array (or null), decoding one tag at a
// time, its prefixes into one scratch slice that every tag reuses.
func parseValues(dec *json.Decoder, b *builder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "values": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("field \"values\" is not an array")
	}
	var scratch []netip.Prefix
	for dec.More() {
		var v jsonTag
		v.Properties.AddressPrefixes.prefixes = scratch[:0]
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := v.add(b); err != nil {
			return err
		}
		if ps := v.Properties.AddressPrefixes.prefixes; cap(ps) > cap(scratch) {
			scratch = ps
		}
	}
	_, err = dec.Token() // the closing bracket
	return err
}

func (v *jsonTag) add(b *builder) error {
	name := v.Name
	if name == "" {
		name = v.ID
	}
	if name == "" {
		return tagError{fmt.Sprintf("tag #%d has no name", len(b.tags))}
	}
	if err := v.Properties.AddressPrefixes.bad; err != nil {
		return tagError{fmt.Sprintf("tag %s: %v", shown(name), err)}
	}
	b.add(name, strings.ToLower(v.Properties.Region), v.Properties.SystemService, v.Properties.NetworkFeatures,
		v.Properties.AddressPrefixes.prefixes)
	return nil
}

// shown is a tag's name as an error may quote it: the document's words,
// one line and bounded (a name may hold a line break or an escape).
func shown(name string) string { return probes.Untrusted(name, 0) }

// tagError is a document that parses as JSON but holds a bad tag.
type tagError struct{ msg string }

func (e tagError) Error() string { return "service tags document: " + e.msg }

// delim reads the next token and wants it to be d.
func delim(dec *json.Decoder, d json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return notDocument(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("not a service tags JSON document: %s is not a JSON object", what)
	}
	return nil
}

// notDocument words a decoding error on one line.
func notDocument(err error) error {
	var te tagError
	if errors.As(err, &te) {
		return te
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not a service tags JSON document: syntax error at byte %d: %v", se.Offset, err)
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Errorf("not a service tags JSON document: field %q has the wrong type (%s)", ute.Field, ute.Value)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("not a service tags JSON document: it ends before its JSON does")
	}
	return fmt.Errorf("not a service tags JSON document: %v", err)
}

// parsePrefix accepts a CIDR or a bare address (treated as a host prefix).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address prefix %q is not a CIDR", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address prefix %q is not a CIDR", s)
	}
	return p.Masked(), nil
}

// Load reads a downloaded ServiceTags_*.json file.
func Load(path string) (*Set, error) {
	// A FIFO is refused at once instead of waiting for a writer for ever.
	f, err := inputfile.Open(path)
	if errors.Is(err, inputfile.ErrNotRegular) {
		return nil, fmt.Errorf("--service-tags: %s is %v, not a JSON file", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("--service-tags: cannot read %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--service-tags: cannot read %s: %v", path, unwrapPathError(err))
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("--service-tags: %s is %d bytes, more than the %d a service tags file can be", path, st.Size(), MaxFileSize)
	}
	// Read no more than the limit, whatever the file is (a device or a pipe
	// has no size to check first): past it, the one-line refusal.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("--service-tags: cannot read %s: %v", path, unwrapPathError(err))
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("--service-tags: %s holds more than the %d bytes a service tags file can be", path, MaxFileSize)
	}
	s, err := Parse(bytes.NewReader(data), "file:"+path)
	if err != nil {
		return nil, fmt.Errorf("--service-tags %s: %v", path, err)
	}
	return s, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
