//go:build !linux

package pathtrace

import (
	"context"
	"errors"
	"net/netip"
)

// probeTTL needs Linux's IP_RECVERR to hear ICMP errors without raw sockets;
// elsewhere the path is reported as not observable.
func probeTTL(context.Context, netip.AddrPort, int, func()) (Hop, error) {
	return Hop{Kind: Silent}, errors.New("TTL-limited probes need Linux (IP_RECVERR)")
}
