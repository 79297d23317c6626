package arm

import "testing"

// The action a 403's message names: ARM's AuthorizationFailed wording, and
// nothing from a message that carries a control character.
func TestDeniedAction(t *testing.T) {
	// A message that is not ARM's shape names the read's own permission.
	if a, _ := deniedAction("The client 'x' does not have authorization to perform action 'Microsoft.Network/networkInterfaces/effectiveRouteTable/action' over scope '/subscriptions/s/resourceGroups/rg' or the scope is invalid."); a != "Microsoft.Network/networkInterfaces/effectiveRouteTable/action" {
		t.Errorf("AuthorizationFailed action %q", a)
	}
	if a, _ := deniedAction("perform action 'Microsoft.Network/x\u202e/read'"); a != "" {
		t.Errorf("an action with a control character was taken: %q", a)
	}
}
