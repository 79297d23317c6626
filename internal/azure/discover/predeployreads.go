package discover

import (
	"cmp"
	"context"
	"strings"
	"sync"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/bounded"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
)

// The pre-deployment reads: the caller's permissions on the subnet and the
// Microsoft.Web provider's registration (judge's subnet.permissions and
// subnet.provider judge them).

func occupantsOf(p *armnetwork.SubnetPropertiesFormat) snapshot.Occupants {
	var o snapshot.Occupants
	for _, c := range p.IPConfigurations {
		if c == nil || c.ID == nil {
			continue
		}
		id := *c.ID
		if rid, err := azarm.ParseResourceID(id); err == nil && rid.Parent != nil &&
			strings.EqualFold(rid.Parent.ResourceType.String(), "Microsoft.Network/networkInterfaces") {
			if !contains(o.NICs, rid.Parent.Name) {
				o.NICs = append(o.NICs, rid.Parent.Name)
			}
			continue
		}
		o.OtherIPConfigs = append(o.OtherIPConfigs, id)
	}
	for _, l := range p.ServiceAssociationLinks {
		if l != nil && l.Properties != nil {
			o.ServiceAssociations = append(o.ServiceAssociations, cmp.Or(deref(l.Properties.LinkedResourceType), deref(l.Name)))
		}
	}
	for _, l := range p.ResourceNavigationLinks {
		if l != nil && l.Properties != nil {
			o.NavigationLinks = append(o.NavigationLinks, cmp.Or(deref(l.Properties.LinkedResourceType), deref(l.Name)))
		}
	}
	o.PrivateEndpoints = len(p.PrivateEndpoints)
	return o
}

// startPredeploy reads the permissions on the subnet and, in the v2 modes,
// Microsoft.Web's registration, beside the subnet read; the returned func
// waits for them.
func (s *armSession) startPredeploy(ctx context.Context, subnetID string) func() {
	var wg sync.WaitGroup
	wg.Go(func() { s.readPermissions(ctx, subnetID) })
	if !s.o.Mode.Classic() {
		wg.Go(func() { s.readProvider(ctx, snapshot.SubscriptionOf(subnetID)) })
	}
	return wg.Wait
}

func (s *armSession) finishPredeploy(r *snapshot.Read, f func(v *snapshot.PredeployView)) {
	s.finish(r, func() {
		if f == nil {
			return
		}
		if s.snap.Predeploy == nil {
			s.snap.Predeploy = &snapshot.PredeployView{}
		}
		f(s.snap.Predeploy)
	})
}

func (s *armSession) readPermissions(ctx context.Context, subnetID string) {
	r := &snapshot.Read{Name: snapshot.ReadPermissions, Permission: "Microsoft.Authorization/permissions/read", CLI: snapshot.PermissionsCLI(subnetID)}
	start := s.begin(r.Name)
	var perms []snapshot.Permission
	var err error
	if rid, perr := azarm.ParseResourceID(subnetID); perr != nil || rid.Parent == nil {
		err = arm.Malformed("the subnet id does not parse: " + bounded.Line(subnetID))
	} else {
		path := subnetID + "/providers/Microsoft.Authorization/permissions"
		for page := 0; page < 10 && path != "" && err == nil; page++ {
			var list struct {
				Value    []snapshot.Permission `json:"value"`
				NextLink string                `json:"nextLink"`
			}
			if err = s.GetJSON(ctx, path, snapshot.AuthzAPIVersion, &list); err == nil {
				perms = append(perms, list.Value...)
				path = list.NextLink
				if path != "" && !strings.HasPrefix(path, s.Endpoint()+"/") {
					err = arm.Malformed("the permissions' nextLink leaves Resource Manager: " + bounded.Line(path))
				}
			}
		}
	}
	s.settle(ctx, r, start, err)
	s.finishPredeploy(r, func(v *snapshot.PredeployView) {
		if err == nil {
			v.PermissionsScope, v.Permissions = subnetID, perms
		}
	})
}

func (s *armSession) readProvider(ctx context.Context, sub string) {
	r := &snapshot.Read{Name: snapshot.ReadProvider, Permission: "Microsoft.Resources/subscriptions/providers/read", CLI: snapshot.ProviderCLI(sub)}
	start := s.begin(r.Name)
	var res struct {
		Namespace         string `json:"namespace"`
		RegistrationState string `json:"registrationState"`
	}
	var err error
	if sub == "" {
		err = arm.Malformed("the subnet id names no subscription")
	} else if err = s.GetJSON(ctx, "/subscriptions/"+sub+"/providers/Microsoft.Web", snapshot.ProvidersAPIVersion, &res); err == nil && res.RegistrationState == "" {
		err = arm.Malformed("the provider has no registrationState")
	}
	s.settle(ctx, r, start, err)
	s.finishPredeploy(r, func(v *snapshot.PredeployView) {
		if err == nil {
			v.ProviderSubscription, v.ProviderState = sub, res.RegistrationState
		}
	})
}
