package discover

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// predeployARM serves a v2 subnet (snet-apim-v2) whose body, the identity's
// permissions on it and Microsoft.Web's registration state the test picks.
func predeployARM(t *testing.T, subnetProps, perms, state string, extra map[string]http.HandlerFunc) *armServer {
	h := map[string]http.HandlerFunc{
		"GET snet-apim-v2": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"snet-apim-v2","id":"` + v2Subnet + `","properties":` + subnetProps + `}`))
		},
		"GET permissions": func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, v2Subnet+"/providers/") || r.URL.Query().Get("api-version") != "2022-04-01" {
				t.Errorf("permissions asked at %s?%s, want the subnet's scope and api-version 2022-04-01", r.URL.Path, r.URL.RawQuery)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":` + perms + `}`))
		},
		"GET Microsoft.Web": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Web" || r.URL.Query().Get("api-version") != "2021-04-01" {
				t.Errorf("provider asked at %s?%s", r.URL.Path, r.URL.RawQuery)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Web","namespace":"Microsoft.Web","registrationState":"` + state + `","resourceTypes":[]}`))
		},
	}
	for k, v := range extra {
		h[k] = v
	}
	return newARM(t, h)
}

const (
	nsgV2         = `"networkSecurityGroup":{"id":"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-apim"}`
	emptyV2Subnet = `{"addressPrefix":"10.1.3.0/27",` + nsgV2 + `,"delegations":[{"name":"d","properties":{"serviceName":"Microsoft.Web/hostingEnvironments"}}],"ipConfigurations":[]}`
	readerOnly    = `[{"actions":["*/read"],"notActions":[],"dataActions":[],"notDataActions":[]}]`
	networkContr  = `[{"actions":["*/read"],"notActions":[]},{"actions":["Microsoft.Network/*"],"notActions":[]}]`
)

func preOpts(imds string, arm *armServer) Options {
	o := baseOpts(imds, arm)
	o.Mode, o.Phase, o.APIMSubnet, o.Region = probes.ModeV2Injected, probes.DeployPre, v2Subnet, "westeurope"
	return o
}

func discoverChecks(t *testing.T, o Options) map[string]probes.Result {
	t.Helper()
	d := mustDiscover(t, context.Background(), o)
	return runChecks(t, d, o)
}

// Before deployment, --apim-subnet names a v2 subnet; the VM's identity
// may only read it and Microsoft.Web is not registered.
func TestPredeployV2MissingJoinAndProvider(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := predeployARM(t, emptyV2Subnet, readerOnly, "NotRegistered", nil)
	o := preOpts(imds.URL, arm)
	res := discoverChecks(t, o)
	// The managed identity's are the VM's permissions: a warning that says
	// whose they are and how to check the deploying person's.
	expect(t, res, "subnet.permissions", probes.Warn, probes.ReasonSubnetConfig,
		"this VM's managed identity lacks Microsoft.Network/virtualNetworks/subnets/join/action on subnet snet-apim-v2",
		"not the deploying person's", "--arm-credential azure-cli", "Network Contributor")
	if r := res["subnet.permissions"]; strings.Contains(r.Message, "subnets/read,") || strings.Contains(r.Message, "virtualNetworks/read,") {
		t.Errorf("*/read grants the reads, yet: %s", r.Message)
	}
	expect(t, res, "subnet.provider", probes.Fail, probes.ReasonSubnetConfig, "NotRegistered", "00000000-0000-0000-0000-000000000001",
		"az provider register --namespace Microsoft.Web --subscription 00000000-0000-0000-0000-000000000001")
	expect(t, res, "subnet.free", probes.Pass, probes.ReasonOK, "nothing else in it")
	expect(t, res, "subnet.region", probes.Pass, probes.ReasonOK, "vnet-hub is in westeurope", "--region", "create the instance in its subscription")

	// The person who deploys, signed in to the Azure CLI: a failure.
	o.Credential = probes.CredAzureCLI
	res = discoverChecks(t, o)
	expect(t, res, "subnet.permissions", probes.Fail, probes.ReasonSubnetConfig, "the identity signed in to the Azure CLI lacks", "az role assignment create")
}

func TestPredeployV2AllInPlace(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := predeployARM(t, emptyV2Subnet, networkContr, "Registered", nil)
	o := preOpts(imds.URL, arm)
	res := discoverChecks(t, o)
	expect(t, res, "subnet.permissions", probes.Pass, probes.ReasonOK, "holds", "the VM's permissions, not necessarily")
	expect(t, res, "subnet.provider", probes.Pass, probes.ReasonOK, "is registered")
	expect(t, res, "subnet.free", probes.Pass, probes.ReasonOK)
	expect(t, res, "subnet.region", probes.Pass, probes.ReasonOK)
	expect(t, res, "subnet.config", probes.Pass, probes.ReasonOK)
	if e := res["subnet.permissions"].Evidence; e["credential"] != probes.CredManagedIdentity || e["scope"] != v2Subnet {
		t.Errorf("evidence %v", e)
	}

	// Registering: not yet, wait.
	arm = predeployARM(t, emptyV2Subnet, networkContr, "Registering", nil)
	res = discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.provider", probes.Warn, probes.ReasonSubnetConfig, "still registering")

	// Another region given with --region.
	o = preOpts(imds.URL, arm)
	o.Region = "North Europe"
	res = discoverChecks(t, o)
	expect(t, res, "subnet.region", probes.Fail, probes.ReasonSubnetConfig, "vnet-hub is in westeurope but the instance's region (--region) is North Europe", "Create the instance in westeurope")

	// Without --region the region cannot be compared before deployment.
	o.Region = ""
	res = discoverChecks(t, o)
	expect(t, res, "subnet.region", probes.Skip, probes.ReasonNoData, "--region", "westeurope")
}

// notActions of the one role that grants the join take it away.
func TestPredeployNotActionsTakeTheJoinAway(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := predeployARM(t, emptyV2Subnet, `[{"actions":["Microsoft.Network/*"],"notActions":["Microsoft.Network/virtualNetworks/subnets/join/action"]}]`, "Registered", nil)
	res := discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.permissions", probes.Warn, probes.ReasonSubnetConfig, "lacks Microsoft.Network/virtualNetworks/subnets/join/action on")
}

// A v2 subnet with a NIC, a private endpoint and another service's
// association is not free; once the instance is deployed there, its own
// Microsoft.Web link is expected.
func TestPredeployV2SubnetNotFree(t *testing.T) {
	imds, _ := fakeIMDS(t)
	withNIC := `{"addressPrefix":"10.1.3.0/27",` + nsgV2 + `,"delegations":[{"name":"d","properties":{"serviceName":"Microsoft.Web/hostingEnvironments"}}],
		"ipConfigurations":[{"id":"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-x/providers/Microsoft.Network/networkInterfaces/vm-7-nic/ipConfigurations/ipconfig1"}]}`
	arm := predeployARM(t, withNIC, networkContr, "Registered", nil)
	res := discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.free", probes.Fail, probes.ReasonSubnetConfig, "subnet snet-apim-v2 is not free for mode v2-injected", "1 network interface (vm-7-nic)", "empty subnet dedicated")

	linked := `{"addressPrefix":"10.1.3.0/27",` + nsgV2 + `,"delegations":[{"name":"d","properties":{"serviceName":"Microsoft.Web/hostingEnvironments"}}],
		"serviceAssociationLinks":[{"name":"legionservicelink","properties":{"linkedResourceType":"Microsoft.Web/hostingEnvironments","link":"x"}}]}`
	arm = predeployARM(t, linked, networkContr, "Registered", nil)
	res = discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.free", probes.Fail, probes.ReasonSubnetConfig, "another service holds it (Microsoft.Web/hostingEnvironments)")

	// After deployment, the instance's own link in its subnet is expected.
	arm = predeployARM(t, linked, networkContr, "Registered", map[string]http.HandlerFunc{
		"GET contoso": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Replace(string(fixture(t, "apim.json")), `/subnets/snet-apim"`, `/subnets/snet-apim-v2"`, 1)))
		},
	})
	o := baseOpts(imds.URL, arm)
	o.Mode, o.Phase = probes.ModeV2Injected, probes.DeployPost
	res = discoverChecks(t, o)
	expect(t, res, "subnet.free", probes.Pass, probes.ReasonOK, "nothing in it but the instance")
	// The region is the instance's, and so is the subscription.
	expect(t, res, "subnet.region", probes.Pass, probes.ReasonOK, "the instance's location", "and in its subscription")
}

// Classic: the subnet is this VM's, and a delegation makes it unfit.
func TestPredeployClassicDelegated(t *testing.T) {
	imds, _ := fakeIMDS(t)
	arm := newARM(t, map[string]http.HandlerFunc{
		"GET snet-apim": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Replace(string(fixture(t, "subnet.json")), `"delegations": []`,
				`"delegations": [{"name":"d","properties":{"serviceName":"Microsoft.Web/serverFarms"}}]`, 1)))
		},
	})
	o := baseOpts(imds.URL, arm)
	res := discoverChecks(t, o)
	expect(t, res, "subnet.free", probes.Fail, probes.ReasonSubnetConfig, "delegated to Microsoft.Web/serverFarms", "classic instance's subnet must have no delegation", "--remove delegations")
	expect(t, res, "subnet.provider", probes.Skip, probes.ReasonNotApplicable)
	// The classic subnet holds this VM's NIC: that is allowed.
	expect(t, res, "subnet.permissions", probes.Pass, probes.ReasonOK, "snet-apim")
	expect(t, res, "subnet.region", probes.Pass, probes.ReasonOK, "westeurope")

	arm = newARM(t, nil)
	res = discoverChecks(t, baseOpts(imds.URL, arm))
	expect(t, res, "subnet.free", probes.Pass, probes.ReasonOK, "no delegation")

	// After deployment joining the subnet concerns whoever updates the
	// instance: a Reader diagnosing it is not judged on it (§12.6).
	o = baseOpts(imds.URL, arm)
	o.Phase = probes.DeployPost
	res = discoverChecks(t, o)
	expect(t, res, "subnet.permissions", probes.Skip, probes.ReasonNotApplicable, "after deployment")
}

// Without Resource Manager each check is a not-observable skip with the az
// command that checks the same by hand.
func TestPredeployWithoutARM(t *testing.T) {
	for _, tc := range []struct {
		id, cmd string
	}{
		{"subnet.permissions", "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"},
		{"subnet.provider", "az provider show --namespace Microsoft.Web"},
		{"subnet.free", "az network vnet subnet show"},
		{"subnet.region", "az network vnet show --ids /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub --query location"},
	} {
		res := runChecks(t, snapshot.Static{}, Options{Mode: probes.ModeV2Injected, APIMSubnet: v2Subnet})
		expect(t, res, tc.id, probes.Skip, probes.ReasonNotObservable, tc.cmd)
	}
	res := runChecks(t, snapshot.Static{}, Options{Mode: probes.ModeV2Injected, APIMSubnet: v2Subnet})
	expect(t, res, "subnet.permissions", probes.Skip, probes.ReasonNotObservable, v2Subnet+"/providers/Microsoft.Authorization/permissions")

	// ARM readable but no subnet named before deployment: say which flag.
	imds, _ := fakeIMDS(t)
	arm := predeployARM(t, emptyV2Subnet, networkContr, "Registered", nil)
	o := preOpts(imds.URL, arm)
	o.APIMSubnet = ""
	res = discoverChecks(t, o)
	for _, id := range []string{"subnet.permissions", "subnet.provider", "subnet.free", "subnet.region"} {
		expect(t, res, id, probes.Skip, probes.ReasonNotObservable, "--apim-subnet")
	}

	// The permissions read denied: the skip names the permission.
	arm = predeployARM(t, emptyV2Subnet, networkContr, "Registered", map[string]http.HandlerFunc{
		"GET permissions": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":"AuthorizationFailed","message":"no"}}`))
		},
	})
	res = discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.permissions", probes.Skip, probes.ReasonNotObservable, "Microsoft.Authorization/permissions/read", "az rest")
}

// The Permissions API pages with nextLink; a link off Resource Manager is
// refused.
func TestPermissionsPaging(t *testing.T) {
	imds, _ := fakeIMDS(t)
	var arm *armServer
	arm = predeployARM(t, emptyV2Subnet, "", "Registered", map[string]http.HandlerFunc{
		"GET permissions": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Get("page") == "" {
				w.Write([]byte(`{"value":[{"actions":["*/read"]}],"nextLink":"` + arm.URL + v2Subnet + `/providers/Microsoft.Authorization/permissions?api-version=2022-04-01&page=2"}`))
				return
			}
			w.Write([]byte(`{"value":[{"actions":["Microsoft.Network/virtualNetworks/subnets/join/action"]}]}`))
		},
	})
	res := discoverChecks(t, preOpts(imds.URL, arm))
	expect(t, res, "subnet.permissions", probes.Pass, probes.ReasonOK)

	arm2 := predeployARM(t, emptyV2Subnet, "", "Registered", map[string]http.HandlerFunc{
		"GET permissions": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":[],"nextLink":"https://elsewhere.example/x"}`))
		},
	})
	res = discoverChecks(t, preOpts(imds.URL, arm2))
	expect(t, res, "subnet.permissions", probes.Skip, probes.ReasonNotObservable, "nextLink leaves Resource Manager")
}
