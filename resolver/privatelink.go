package resolver

import "context"

// PrivateLink returns the first "privatelink." name in the CNAME chain of
// host as the VM's own resolver answered it ("" when there is none, or no
// answer): the mark of a private endpoint. It asks nothing new when the
// name was looked up already in this run.
func (s *Set) PrivateLink(ctx context.Context, host string) string {
	c, i, _ := s.waitPrimary(ctx, host, false)
	if i < 0 || !c.Views[i].Answered() {
		return ""
	}
	return privateLinkHop(c.Views[i].Chain)
}
