package judge

import (
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

func TestActionMatching(t *testing.T) {
	const join = "Microsoft.Network/virtualNetworks/subnets/join/action"
	const read = "Microsoft.Network/virtualNetworks/subnets/read"
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{join, join, true},
		{"microsoft.network/VIRTUALNETWORKS/subnets/join/action", join, true},
		{read, join, false},
		{"Microsoft.Network/virtualNetworks/subnets/join", join, false}, // no prefix match without '*'
		{"*", join, true},
		{"*", read, true},
		{"*/read", read, true},
		{"*/read", join, false},
		{"*/READ", "Microsoft.Network/virtualNetworks/read", true},
		{"Microsoft.Network/*", join, true},
		{"Microsoft.Network/*", "Microsoft.Compute/virtualMachines/read", false},
		{"Microsoft.Network/virtualNetworks/*/read", read, true},
		{"Microsoft.Network/virtualNetworks/*/read", "Microsoft.Network/virtualNetworks/read", false},
		{"Microsoft.Network/virtualNetworks/subnets/*", join, true},
		{"Microsoft.Network/*/join/action", join, true},
		{"Microsoft.Net*", join, true},
		{"*/action", join, true},
		{"*a*a*", "aa", true},
		{"*ab*ab", "ab", false}, // the suffix may not reuse what the middle took
		{"", join, false},
	} {
		if got := actionMatch(tc.pattern, tc.action); got != tc.want {
			t.Errorf("actionMatch(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

func TestGranted(t *testing.T) {
	const (
		join  = "Microsoft.Network/virtualNetworks/subnets/join/action"
		sread = "Microsoft.Network/virtualNetworks/subnets/read"
		vread = "Microsoft.Network/virtualNetworks/read"
	)
	reader := snapshot.Permission{Actions: []string{"*/read"}}
	// Contributor: everything but role management.
	contributor := snapshot.Permission{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"}}
	// A custom role taking the join away from Network Contributor's wildcard.
	noJoin := snapshot.Permission{Actions: []string{"Microsoft.Network/*"}, NotActions: []string{"Microsoft.Network/virtualNetworks/subnets/join/action"}}
	joinOnly := snapshot.Permission{Actions: []string{join}}
	for _, tc := range []struct {
		name   string
		perms  []snapshot.Permission
		action string
		want   bool
	}{
		{"nothing", nil, sread, false},
		{"exact", []snapshot.Permission{joinOnly}, join, true},
		{"exact, other action", []snapshot.Permission{joinOnly}, sread, false},
		{"star", []snapshot.Permission{contributor}, join, true},
		{"star/read reads", []snapshot.Permission{reader}, vread, true},
		{"star/read does not join", []snapshot.Permission{reader}, join, false},
		{"namespace wildcard", []snapshot.Permission{{Actions: []string{"Microsoft.Network/*"}}}, join, true},
		{"notActions takes it away", []snapshot.Permission{noJoin}, join, false},
		{"notActions leaves the rest", []snapshot.Permission{noJoin}, sread, true},
		{"notActions of one role do not deny another's grant", []snapshot.Permission{noJoin, joinOnly}, join, true},
		{"notActions only match within their entry", []snapshot.Permission{reader, noJoin}, join, false},
		{"notActions wildcard", []snapshot.Permission{{Actions: []string{"*"}, NotActions: []string{"Microsoft.Network/*/action"}}}, join, false},
		{"dataActions do not grant control-plane actions", []snapshot.Permission{{DataActions: []string{"*"}}}, join, false},
	} {
		if got := Granted(tc.perms, tc.action); got != tc.want {
			t.Errorf("%s: Granted(%s) = %v, want %v", tc.name, tc.action, got, tc.want)
		}
	}
	if got := GrantedBy([]snapshot.Permission{reader, joinOnly}, join); got != join {
		t.Errorf("GrantedBy = %q, want the exact action", got)
	}
}
