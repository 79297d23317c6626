package probes

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// TCP is a plain TCP connect: enough for protocols that speak first from the
// client after their own preamble (Azure SQL's TDS, KMS, SMTP relay). It tells
// a refusal (RST or ICMP port unreachable) from a silent drop (timeout) from
// no route (unreachable).
type TCP struct {
	Host     string
	Port     int
	Resolver Resolver
}

var _ Probe = TCP{}

func (p TCP) Run(ctx context.Context) Result {
	var res Result
	if !resolve(ctx, p.Resolver, p.Host, &res) {
		return res
	}
	conn, ok := dialFirst(ctx, &res, p.Port)
	if !ok {
		return res
	}
	conn.Close()
	out := Passf(fmt.Sprintf("TCP connect to %s in %dms", net.JoinHostPort(res.Addresses[0], strconv.Itoa(p.Port)), res.Phases["connect_ms"]))
	out.Phases, out.Addresses, out.Evidence = res.Phases, res.Addresses, res.Evidence
	return out
}
