package judge

import (
	"strings"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// Granted reports whether the permissions allow a control-plane action, as
// Azure RBAC evaluates them: an action is allowed when some entry's actions
// match it and none of that same entry's notActions do. notActions is a
// subtraction within one role, not a deny: another role that grants the
// action still grants it. Matching is case-insensitive and '*' matches any
// run of characters, slashes included ("*", "*/read", "Microsoft.Network/*").
func Granted(perms []snapshot.Permission, action string) bool {
	for _, p := range perms {
		if matchesAny(p.Actions, action) && !matchesAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// GrantedBy returns the first entry's action pattern that grants the
// action, "" when none does.
func GrantedBy(perms []snapshot.Permission, action string) string {
	for _, p := range perms {
		if m := firstMatch(p.Actions, action); m != "" && !matchesAny(p.NotActions, action) {
			return m
		}
	}
	return ""
}

func matchesAny(patterns []string, action string) bool { return firstMatch(patterns, action) != "" }

func firstMatch(patterns []string, action string) string {
	for _, p := range patterns {
		if actionMatch(p, action) {
			return p
		}
	}
	return ""
}

// actionMatch matches an action against one pattern with '*' wildcards,
// case-insensitively.
func actionMatch(pattern, action string) bool {
	p, a := strings.ToLower(strings.TrimSpace(pattern)), strings.ToLower(action)
	if p == "" {
		return false
	}
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == a
	}
	if !strings.HasPrefix(a, parts[0]) {
		return false
	}
	a = a[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(a, mid)
		if i < 0 {
			return false
		}
		a = a[i+len(mid):]
	}
	return len(a) >= len(last) && strings.HasSuffix(a, last)
}
