package cli

import (
	"net/url"
	"strings"
)

// CommandLine is the command as run, for the report: values of flags that
// could carry a secret are replaced, URL flags lose their query, fragment
// and user information (a key, a signature, a password), and --redact's
// names are removed with the rest of the report.
func CommandLine(name string, args []string) string {
	secret := map[string]bool{"--identity-client-id": true}
	out := []string{"apimprobe", name}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if k, v, ok := strings.Cut(a, "="); ok && secret[k] {
			out = append(out, k+"=<removed>")
			continue
		} else if ok && urlFlags[k] {
			out = append(out, shellQuote(k+"="+scrubFlagURL(v)))
			continue
		}
		out = append(out, shellQuote(a))
		if secret[a] && i+1 < len(args) {
			out = append(out, "<removed>")
			i++
		} else if urlFlags[a] && i+1 < len(args) {
			out = append(out, shellQuote(scrubFlagURL(args[i+1])))
			i++
		}
	}
	return strings.Join(out, " ")
}

// urlFlags are the flags whose value is a URL.
var urlFlags = map[string]bool{"--imds-endpoint": true, "--arm-endpoint": true, "--egress-echo-url": true, "--backend": true}

// scrubFlagURL is a URL flag's value without its query, fragment and user
// information; what does not parse is cut at its first '?' or '#', and
// loses what comes before an '@'.
func scrubFlagURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" { // "user:password@host" parses as a scheme
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			scheme, _, found := strings.Cut(raw, "://")
			if !found {
				return raw[i+1:]
			}
			return scheme + "://" + raw[i+1:]
		}
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
