package main

// The reads behind validate-before-deploy (subnet.permissions,
// subnet.provider, subnet.free): the Permissions API on a subnet, the
// Microsoft.Web provider's registration, and subnets that are not free.
// Their knobs are read from the same file as the others.

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"
)

// predeployKnobs are a scenario's pre-deployment faults.
type predeployKnobs struct {
	// Permissions replaces the identity's permissions on every subnet (the
	// Permissions API's value array); absent: Reader plus Network
	// Contributor, which hold everything a deployment needs.
	Permissions []permission `json:"permissions"`
	// WebProvider is Microsoft.Web's registrationState (default
	// Registered).
	WebProvider string `json:"web_provider"`
	// ClassicDelegation delegates snet-apim (the jumpbox's, the classic
	// instance's) to this service.
	ClassicDelegation string `json:"classic_delegation"`
	// V2NIC puts another VM's NIC in snet-apim-v2.
	V2NIC bool `json:"v2_nic"`
}

// permission is one entry as the Permissions API writes it: all four
// arrays, empty ones included.
type permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func (s *server) predeployKnobs() predeployKnobs {
	var k predeployKnobs
	if b, err := os.ReadFile(s.knobsFile); err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			log.Printf("knobs %s: %v", s.knobsFile, err)
		}
	}
	return k
}

// servePredeploy answers the pre-deployment reads; false leaves the
// request to the main switch.
func (s *server) servePredeploy(w http.ResponseWriter, r *http.Request, p string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	k := s.predeployKnobs()
	lp := strings.ToLower(p)
	switch {
	case strings.HasSuffix(lp, "/providers/microsoft.authorization/permissions"):
		scope := p[:len(p)-len("/providers/Microsoft.Authorization/permissions")]
		if !strings.EqualFold(scope, snetID) && !strings.EqualFold(scope, snetV2) {
			armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource '"+scope+"' was not found.")
			return true
		}
		perms := k.Permissions
		if perms == nil {
			perms = []permission{{Actions: []string{"*/read"}}, {Actions: []string{"Microsoft.Network/*"}}}
		}
		for i := range perms {
			for _, a := range []*[]string{&perms[i].Actions, &perms[i].NotActions, &perms[i].DataActions, &perms[i].NotDataActions} {
				if *a == nil {
					*a = []string{}
				}
			}
		}
		writeJSON(w, 200, map[string]any{"value": perms})
		return true
	case strings.EqualFold(p, "/subscriptions/"+sub+"/providers/Microsoft.Web"):
		state := k.WebProvider
		if state == "" {
			state = "Registered"
		}
		types := []any{}
		for _, t := range []string{"hostingEnvironments", "serverFarms", "sites"} {
			types = append(types, map[string]any{"resourceType": t, "locations": []string{"West Europe"}, "apiVersions": []string{"2024-04-01"}, "capabilities": "None"})
		}
		writeJSON(w, 200, map[string]any{"id": p, "namespace": "Microsoft.Web", "registrationPolicy": "RegistrationRequired",
			"registrationState": state, "resourceTypes": types})
		return true
	case strings.EqualFold(p, snetID) && k.ClassicDelegation != "":
		props := map[string]any{"addressPrefix": "198.18.1.0/24", "networkSecurityGroup": map[string]any{"id": nsgID},
			"delegations": []any{map[string]any{"name": "delegation", "id": snetID + "/delegations/delegation",
				"properties": map[string]any{"serviceName": k.ClassicDelegation, "actions": []string{"Microsoft.Network/virtualNetworks/subnets/action"}}}},
			"ipConfigurations": []any{map[string]any{"id": nicID + "/ipConfigurations/ipconfig1"}}}
		writeJSON(w, 200, map[string]any{"id": snetID, "name": "snet-apim", "properties": props})
		return true
	case strings.EqualFold(p, snetV2) && k.V2NIC:
		props := map[string]any{"addressPrefix": "198.18.4.0/24", "networkSecurityGroup": map[string]any{"id": nsgV2ID},
			"delegations":      []any{map[string]any{"name": "apim", "properties": map[string]any{"serviceName": "Microsoft.Web/hostingEnvironments"}}},
			"ipConfigurations": []any{map[string]any{"id": net + "/networkInterfaces/stray-vm-nic/ipConfigurations/ipconfig1"}}}
		writeJSON(w, 200, map[string]any{"id": snetV2, "name": "snet-apim-v2", "properties": props})
		return true
	}
	return false
}
