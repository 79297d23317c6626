package probes

import (
	"errors"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What the network says is not ours to print as it came: a DNS answer, an
// HTTP body or header, a certificate's subject, an error that quotes a URL.
// Everything of that kind goes through Untrusted before it enters a Result's
// Message or Evidence, and every URL through ScrubURL, so that no report,
// terminal or Prometheus label receives an escape sequence, a line break, a
// megabyte, or a signature.

// MaxUntrusted is the default bound of one untrusted string in a message.
const MaxUntrusted = 200

// maxMessage bounds a whole message (the runner's last line of defence).
const maxMessage = 2000

// Untrusted makes s safe to render: URLs lose their query strings
// (ScrubText), tokens are removed (ScrubSecrets), control and bidirectional-formatting characters become '?',
// invalid UTF-8 becomes U+FFFD, and the text is cut to max runes (0 means
// MaxUntrusted) with an ellipsis.
func Untrusted(s string, max int) string {
	if max <= 0 {
		max = MaxUntrusted
	}
	s = ScrubSecrets(ScrubText(s))
	if len(s) <= max && printableASCII(s) {
		// What the loop below would copy unchanged (a host name, a
		// certificate's subject): a run cleans thousands of them.
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(r), isBidiControl(r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printableASCII: s is ASCII without control characters.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// UntrustedAll applies Untrusted to each string, and bounds the list to max
// entries (0 means 64), saying how many were dropped.
func UntrustedAll(ss []string, max int) []string {
	if ss == nil {
		return nil
	}
	if max <= 0 {
		max = 64
	}
	out := make([]string, 0, min(len(ss), max+1))
	for i, s := range ss {
		if i == max {
			out = append(out, "… "+strconv.Itoa(len(ss)-max)+" more")
			break
		}
		out = append(out, Untrusted(s, 0))
	}
	return out
}

// isBidiControl is the Unicode characters that reorder text on display
// (Trojan Source): harmless to a machine, misleading to the eye.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// ScrubURL is the one place a URL is made fit to write: the query string is
// dropped but for api-version (it may carry a signature, a key or a token),
// and so are the fragment and any user information. A string that does not
// parse as a URL is cut at its first '?' or '#'.
func ScrubURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		if i := strings.LastIndex(raw, "@"); i >= 0 && strings.Contains(raw, "://") {
			scheme, _, _ := strings.Cut(raw, "://")
			return scheme + "://" + raw[i+1:]
		}
		return raw
	}
	q := url.Values{}
	if v := u.Query().Get("api-version"); v != "" {
		q.Set("api-version", v)
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = q.Encode(), false, "", "", nil
	return u.String()
}

// urlInText finds URLs inside free text, such as Go's *url.Error, which
// quotes the whole URL ("Get \"https://x/?sig=S\": EOF"), and a hint's
// command in backquotes, which end it.
var urlInText = regexp.MustCompile("(?i)\\b[a-z][a-z0-9+.-]*://[^\\s\"'<>`]+")

// ErrorText is err's text fit for a message: a *url.Error (which quotes the
// request's URL whole, query and all, even a redirect's relative Location)
// names its URL scrubbed, and the rest goes through Untrusted.
func ErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Unwrap()
		text := ""
		if inner != nil {
			text = inner.Error()
		}
		return Untrusted(ue.Op+" "+strconv.Quote(ScrubURL(ue.URL))+": "+text, 300)
	}
	return Untrusted(err.Error(), 300)
}

// ScrubText passes every URL found in s through ScrubURL.
func ScrubText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, ScrubURL)
}

// Sinkhole returns the first address of an answer that cannot be any
// service's — 0.0.0.0 (and 0.0.0.0/8), ::, loopback — which is what a DNS
// filter answers for a name it blocks. Such an answer is never dialled:
// dialling 0.0.0.0 or 127.0.0.1 reaches this machine, and whatever listens
// there would pass the check.
func Sinkhole(addrs []string) (string, bool) {
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if a.IsUnspecified() || a.IsLoopback() || (a.Is4() && a.As4()[0] == 0) {
			return a.String(), true
		}
	}
	return "", false
}

// LoopbackAnswers is implemented by a Resolver that stands for a network
// living on loopback (a test's servers on 127.0.0.1): its loopback answers
// are dialled. 0.0.0.0 and :: are sinkholes whatever the resolver.
type LoopbackAnswers interface {
	AnswersLoopback() bool
}

// SinkholeIn is Sinkhole as judged for answers from r.
func SinkholeIn(r Resolver, addrs []string) (string, bool) {
	if la, ok := r.(LoopbackAnswers); ok && la.AnswersLoopback() {
		for _, s := range addrs {
			if a, err := netip.ParseAddr(s); err == nil && !a.Unmap().IsLoopback() {
				if bad, ok := Sinkhole([]string{s}); ok {
					return bad, true
				}
			}
		}
		return "", false
	}
	return Sinkhole(addrs)
}

// SinkholeResult is the check's result when host's answer holds a sinkhole
// address: wrong-answer in phase resolve, nothing dialled.
func SinkholeResult(host, addr string) Result {
	r := Failf(ReasonWrongAnswer, PhaseResolve, "DNS answers "+addr+" for "+Untrusted(host, 0)+
		": an address no service has (a DNS filter's sinkhole for a blocked name), so it was not dialled")
	r.Hint = "A DNS filter or resolver policy blocks " + Untrusted(host, 0) + ": allow the name there (or forward it to Azure DNS, 168.63.129.16), so it resolves to the service's address."
	return r
}

// clean is the runner's last line of defence, applied to every result it
// returns: whatever a probe forgot to pass through Untrusted is made safe
// here. The evidence is copied, never changed in place (a probe may still
// hold it).
func clean(r Result) Result {
	r.Message = Untrusted(r.Message, maxMessage)
	r.Hint = Untrusted(r.Hint, maxMessage)
	if r.Evidence != nil {
		r.Evidence = cleanValue(r.Evidence, 0).(map[string]any)
	}
	return r
}

func cleanValue(v any, depth int) any {
	if depth > 8 {
		return v
	}
	switch x := v.(type) {
	case string:
		return Untrusted(x, maxMessage)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Untrusted(s, maxMessage)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Untrusted(k, 0)] = cleanValue(e, depth+1)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[Untrusted(k, 0)] = Untrusted(e, maxMessage)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cleanValue(e, depth+1)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = cleanValue(e, depth+1).(map[string]any)
		}
		return out
	}
	return v
}
