package discover

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apimprobe/apimprobe/internal/azure/judge"
	"github.com/apimprobe/apimprobe/internal/azure/snapshot"
	"github.com/apimprobe/apimprobe/probes"
)

// vmssIMDS answers like IMDS on a Uniform scale set's instance 3; edit
// changes the document first.
func vmssIMDS(t *testing.T, edit func(map[string]any)) *httptest.Server {
	var doc map[string]any
	if err := json.Unmarshal(fixture(t, "imds-vmss.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(doc)
	}
	body, _ := json.Marshal(doc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metadata/instance" || r.Header.Get("Metadata") != "true" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A Uniform scale set's VM and its NIC are read at the scale set's paths;
// the plain NIC path answers 404 as Resource Manager does (azure-facts
// §12.10), and the effective views, which Resource Manager does not offer
// for such a NIC, give way to the configured view, which says why.
func TestScaleSetJumpbox(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"resourceId", nil},
		// Without IMDS's resourceId, the path comes from vmScaleSetName
		// and the VM's name.
		{"names only", func(d map[string]any) { delete(d["compute"].(map[string]any), "resourceId") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const vmPath = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-jumpbox/virtualMachines/3"
			var plainNIC, scaleSetNICGets, effective atomic.Int32
			var nicAPIVersion atomic.Value
			notFound := func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"error":{"code":"NotFound","message":"Resource /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apim/providers/Microsoft.Network/networkInterfaces/vmss-jumpbox-nic not found."}}`))
			}
			arm := newARM(t, map[string]http.HandlerFunc{
				"GET 3": func(w http.ResponseWriter, r *http.Request) {
					if !strings.EqualFold(r.URL.Path, vmPath) {
						notFound(w)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					w.Write(fixture(t, "vmss-vm.json"))
				},
				"GET vmss-jumpbox-nic": func(w http.ResponseWriter, r *http.Request) {
					if !strings.EqualFold(r.URL.Path, vmPath+"/networkInterfaces/vmss-jumpbox-nic") {
						plainNIC.Add(1)
						notFound(w)
						return
					}
					scaleSetNICGets.Add(1)
					nicAPIVersion.Store(r.URL.Query().Get("api-version"))
					w.Header().Set("Content-Type", "application/json")
					w.Write(fixture(t, "vmss-nic.json"))
				},
				"POST effectiveRouteTable":            func(w http.ResponseWriter, r *http.Request) { effective.Add(1); notFound(w) },
				"POST effectiveNetworkSecurityGroups": func(w http.ResponseWriter, r *http.Request) { effective.Add(1); notFound(w) },
			})
			o := baseOpts(vmssIMDS(t, tc.edit).URL, arm)
			d := mustDiscover(t, context.Background(), o)
			s := d.Wait(context.Background())

			for _, n := range []string{snapshot.ReadVM, snapshot.ReadNIC, snapshot.ReadSubnet} {
				if r := s.Read(n); !r.OK() {
					t.Fatalf("%s read: %+v", n, r)
				}
			}
			if plainNIC.Load() != 0 || scaleSetNICGets.Load() != 1 {
				t.Errorf("NIC GETs: plain %d, scale set %d", plainNIC.Load(), scaleSetNICGets.Load())
			}
			if v := nicAPIVersion.Load(); v != "2018-10-01" {
				t.Errorf("scale set NIC read with api-version %v", v)
			}
			if s.NICPrivateIP != "10.1.2.6" || !strings.HasSuffix(s.JumpboxSubnetID, "/subnets/snet-apim") {
				t.Errorf("NIC: %q in %q", s.NICPrivateIP, s.JumpboxSubnetID)
			}
			if r := s.Read(snapshot.ReadNIC); r.Permission != snapshot.ScaleSetNICPermission || !strings.Contains(r.CLI, "az vmss nic show -g rg-apim --vmss-name vmss-jumpbox --instance-id 3 -n vmss-jumpbox-nic") {
				t.Errorf("NIC read: %q, %q", r.Permission, r.CLI)
			}
			if r := s.Read(snapshot.ReadVM); r.Permission != snapshot.ScaleSetVMPermission || !strings.Contains(r.CLI, "--instance-id 3") {
				t.Errorf("VM read: %q, %q", r.Permission, r.CLI)
			}
			if !slices.Contains(snapshot.RoleActions, snapshot.ScaleSetVMPermission) || !slices.Contains(snapshot.RoleActions, snapshot.ScaleSetNICPermission) {
				t.Errorf("the proposed role lacks the scale set reads: %v", snapshot.RoleActions)
			}
			if effective.Load() != 0 {
				t.Errorf("%d effective-view POSTs for a scale set NIC", effective.Load())
			}
			for _, n := range []string{snapshot.ReadEffectiveRoutes, snapshot.ReadEffectiveNSGs} {
				if r := s.Read(n); r == nil || r.Status != snapshot.ReadNotTried || !strings.Contains(r.Message, "scale set VM's NIC") {
					t.Errorf("%s read: %+v", n, r)
				}
			}

			res := runChecks(t, d, o)
			for _, id := range []string{"route.forced-tunnel", "subnet.nsg.inbound-3443"} {
				r := res[id]
				if r.Evidence["view"] != judge.ViewConfigured || !strings.Contains(r.Message, "configured view of subnet snet-apim") ||
					!strings.Contains(r.Message, "no effective routes or effective NSGs for a scale set VM's NIC") {
					t.Errorf("%s: %s/%s %q (view %v)", id, r.Status, r.Reason, r.Message, r.Evidence["view"])
				}
			}
			// The configured view cannot see security admin rules, and
			// this VM's NIC has no effective view to show them: the hint
			// names a NIC that has one.
			expect(t, res, "subnet.nsg.inbound-3443", probes.Skip, probes.ReasonNotObservable, "AllowApimManagement",
				"az network nic list-effective-nsg -g RG -n NIC  # NIC: a standalone VM's NIC in the same subnet")
			if h := res["subnet.nsg.inbound-3443"].Hint; strings.Contains(h, "-n vmss-jumpbox-nic") {
				t.Errorf("hint sends to the scale set NIC's effective view: %q", h)
			}
		})
	}
}

func TestScaleSetIDs(t *testing.T) {
	const sub = "/subscriptions/s/resourceGroups/rg"
	for id, want := range map[string]scaleSetPath{
		sub + "/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines/0/networkInterfaces/n": {"rg", "v", "0"},
		// ARM ids come in any case.
		"/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/V/VIRTUALMACHINES/12/NETWORKINTERFACES/N": {"rg", "V", "12"},
	} {
		if got, ok := scaleSetNIC(id); !ok || got != want {
			t.Errorf("scaleSetNIC(%q) = %+v %v", id, got, ok)
		}
	}
	for _, id := range []string{
		sub + "/providers/Microsoft.Network/networkInterfaces/n",
		sub + "/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines/0",
		sub + "/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines/0/networkInterfaces/n/ipConfigurations/c",
	} {
		if _, ok := scaleSetNIC(id); ok {
			t.Errorf("scaleSetNIC(%q) took it", id)
		}
	}
	if p, ok := scaleSetVM(sub + "/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines/7"); !ok || p != (scaleSetPath{"rg", "v", "7"}) {
		t.Errorf("scaleSetVM: %+v %v", p, ok)
	}
	if _, ok := scaleSetVM(sub + "/providers/Microsoft.Compute/virtualMachines/v_7"); ok {
		t.Error("a plain VM taken for a scale set's")
	}
}
