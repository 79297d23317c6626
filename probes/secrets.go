package probes

import (
	"regexp"
	"strings"
)

// A token that comes back in an answer (an identity endpoint's error body
// that echoes the request, a Resource Manager error quoting its
// Authorization header, an SDK log line) must not reach a report, a log or
// a terminal. ScrubSecrets is part of the common cleaner (Untrusted, the
// report's CleanText, the Azure reads' own bounding): whatever looks like a
// token is replaced before a string is cut or kept.

// Redacted stands for a secret removed from a string.
const Redacted = "[redacted]"

var (
	// A JSON Web Token, or the start of one: base64url of `{"` and more
	// (a token cut short still gives its header and claims away).
	jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}`)
	// A bearer token, in a header or in prose (tokens are long; words
	// after "bearer" in a sentence are not).
	bearerLike = regexp.MustCompile(`(?i)\b(bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=-]{16,}`)
	// A secret by its field name: "access_token": "…", access_token=…,
	// Authorization: … (a header echoed in a body or a log).
	fieldLike = regexp.MustCompile(`(?i)("?\b(?:access_token|refresh_token|id_token|client_secret|client_assertion|authorization|x-identity-header|secret)\b"?\s*[:=]\s*"?)([^"\s&,;}]+)`)
)

// ScrubSecrets replaces in s every JWT-like string, bearer token and value
// of a field that holds a secret with Redacted.
func ScrubSecrets(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	s = jwtLike.ReplaceAllString(s, Redacted)
	s = bearerLike.ReplaceAllString(s, "${1} "+Redacted)
	s = fieldLike.ReplaceAllStringFunc(s, func(m string) string {
		sub := fieldLike.FindStringSubmatch(m)
		if sub[2] == Redacted || strings.EqualFold(sub[2], "bearer") {
			return m
		}
		return sub[1] + Redacted
	})
	return s
}

// mayHoldSecret is a cheap test that spares the expressions almost every
// string: all three need one of these words (any case) or "eyJ". One pass
// over s, looking further only where a word could start: the report's
// cleaning asks it of every string a run keeps, and a pass per word took a
// twentieth of a run's CPU.
func mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] | 0x20 {
		case 'e':
			if s[i] == 'e' && strings.HasPrefix(s[i:], "eyJ") {
				return true
			}
		case 'b':
			if hasFoldPrefix(s[i:], "bearer") {
				return true
			}
		case 't':
			if hasFoldPrefix(s[i:], "token") {
				return true
			}
		case 's':
			if hasFoldPrefix(s[i:], "secret") {
				return true
			}
		case 'a':
			if hasFoldPrefix(s[i:], "authorization") || hasFoldPrefix(s[i:], "assertion") {
				return true
			}
		case 'x':
			if hasFoldPrefix(s[i:], "x-identity-header") {
				return true
			}
		}
	}
	return false
}

// hasFoldPrefix is strings.HasPrefix ignoring ASCII case; w is lower case.
func hasFoldPrefix(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}
