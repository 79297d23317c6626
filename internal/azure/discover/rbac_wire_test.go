package discover

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// A 401 is Resource Manager refusing the token itself (azure-facts §12.5):
// the analyses say so with ARM's code and the fix (the subscription's
// tenant, the cloud's audience, a fresh token), never a role assignment.
func TestRejectedTokenIsNotAPermission(t *testing.T) {
	imds, _ := fakeIMDS(t)
	for _, tc := range []struct {
		fixture, code, www string
		want               []string
	}{
		{"arm-401-wrong-tenant.json", "InvalidAuthenticationTokenTenant",
			`Bearer authorization_uri="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", error="invalid_token", error_description="The access token is from the wrong issuer."`,
			[]string{"az login --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47", "No role assignment fixes a 401"}},
		{"arm-401-audience.json", "InvalidAuthenticationTokenAudience", `Bearer error="invalid_token"`,
			[]string{"audience https://management.core.windows.net", "--cloud"}},
		{"arm-401-expired.json", "ExpiredAuthenticationToken", `Bearer error="invalid_token"`,
			[]string{"clock", "az login"}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			arm := newARM(t, map[string]http.HandlerFunc{"GET jumpbox": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("WWW-Authenticate", tc.www)
				w.WriteHeader(http.StatusUnauthorized)
				w.Write(fixture(t, tc.fixture))
			}})
			o := baseOpts(imds.URL, arm)
			d := mustDiscover(t, context.Background(), o)
			s := d.Wait(context.Background())
			vm := s.Read(snapshot.ReadVM)
			if vm == nil || vm.Status != snapshot.ReadRejected || vm.ErrorCode != tc.code || !strings.Contains(vm.Message, tc.code) {
				t.Fatalf("vm read: %+v", vm)
			}
			res := runChecks(t, d, o)
			for _, id := range []string{"route.forced-tunnel", "subnet.nsg.inbound-3443", "subnet.config"} {
				r := res[id]
				if r.Status != probes.Skip || r.NeedsARM == nil || r.NeedsARM.Rejected != tc.code {
					t.Errorf("%s: %s/%s %+v", id, r.Status, r.Reason, r.NeedsARM)
					continue
				}
				for _, w := range tc.want {
					if !strings.Contains(r.Hint, w) {
						t.Errorf("%s: hint %q lacks %q", id, r.Hint, w)
					}
				}
				if strings.Contains(r.Hint, "Grant") || strings.Contains(r.Hint, "role assignment create") {
					t.Errorf("%s: a 401 answered with a role: %q", id, r.Hint)
				}
			}
		})
	}
}

// A 403 LinkedAuthorizationFailed names the action missing on the linked
// resource, as ARM's message says it (bounded, cleaned), not the read's own.
func TestLinkedAuthorizationFailedNamesTheAction(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{"POST effectiveRouteTable": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(fixture(t, "arm-403-linked.json"))
	}})
	o := baseOpts(imds.URL, arm)
	d := mustDiscover(t, context.Background(), o)
	r := d.Wait(context.Background()).Read(snapshot.ReadEffectiveRoutes)
	if r == nil || r.Status != snapshot.ReadDenied || r.Permission != "Microsoft.Network/routeTables/read" ||
		!strings.Contains(r.Message, "lacks Microsoft.Network/routeTables/read on a linked resource") || !strings.Contains(r.Message, "rt-hub") {
		t.Fatalf("effective routes read: %+v", r)
	}
}

// The custom role a fix proposes holds every action a read of the tool
// needs.
func TestRoleActionsHoldEveryReadsPermission(t *testing.T) {
	in := &imds.Instance{ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", Location: "westeurope"}
	var perms []string
	for _, n := range []string{snapshot.ReadVM, snapshot.ReadNIC, snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs, snapshot.ReadSubnet, snapshot.ReadSubnetNSG, snapshot.ReadRouteTable, snapshot.ReadVNet, snapshot.ReadNICNSG, snapshot.ReadAPIM, snapshot.ReadServiceTags} {
		perms = append(perms, snapshot.NewRead(n, "rg", "nic", in.ResourceID, in.Location).Permission)
	}
	for _, n := range []string{snapshot.ReadNetworkStatus, snapshot.ReadDependencies} {
		perms = append(perms, snapshot.NewInstanceRead(n, "contoso", "").Permission)
	}
	perms = append(perms, "Microsoft.Authorization/permissions/read", "Microsoft.Resources/subscriptions/providers/read", snapshot.ScaleSetVMPermission, snapshot.ScaleSetNICPermission)
	for _, p := range perms {
		if p == "" || !slices.Contains(snapshot.RoleActions, p) {
			t.Errorf("snapshot.RoleActions lacks %q", p)
		}
	}
}
