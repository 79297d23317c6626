//go:build !linux

package resolver

import "net"

// datagramSize is maxUDPRead where the size of a waiting datagram cannot
// be asked (datagram_linux.go asks it).
func datagramSize(net.Conn) (int, error) { return maxUDPRead, nil }
