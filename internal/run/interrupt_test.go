package run

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/internal/state"
	"github.com/apimprobe/apimprobe/probes"
)

// silentDNS is a loopback UDP socket that never answers: every lookup waits
// for its whole limit.
func silentDNS(t *testing.T) netip.AddrPort {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// A signal mid-run: Run returns at once, marked interrupted, with the checks
// that had finished (the preset skips) and none of those cut short, which
// would otherwise read as dns-timeout or deadline failures. The state is
// not touched.
func TestInterruptedRunJudgesNothing(t *testing.T) {
	cfg := baseConfig(t, silentDNS(t))
	cfg.Service, cfg.SQLServer = "contoso", "sqlsrv"
	cfg.Only = []string{"outbound.sql", "outbound.storage.*", "dns.gateway", "tls.*"}
	cfg.Timeout, cfg.Deadline = 10*time.Second, 20*time.Second
	st, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.State = st

	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(300*time.Millisecond, func() { cancel(&Interrupt{Signal: syscall.SIGTERM}) })
	// A run that went on after the signal would have finished the checks
	// on the silent resolver (dns-timeout at their 10s limit): the loop
	// below finds none, so no clock is read.
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Fatal("report not marked interrupted")
	}
	if len(rep.Checks) == 0 {
		t.Fatal("the preset skips, decided before the signal, were dropped too")
	}
	for _, c := range rep.Checks {
		if c.Status != probes.Skip || c.Reason != probes.ReasonNoData {
			t.Errorf("%s: %s/%s: a check cut by the signal was judged", c.ID, c.Status, c.Reason)
		}
		if !c.Since.IsZero() {
			t.Errorf("%s: the state was applied to an interrupted run", c.ID)
		}
	}
	if rep.Summary.Fail != 0 || rep.Summary.Verdict != report.Interrupted {
		t.Fatalf("summary %+v", rep.Summary)
	}
	schematest.ValidateReport(t, rep)
}

// The same run without a signal fails the SQL check on the silent resolver:
// the test above is not passing for want of a failure to drop.
func TestUninterruptedRunFailsOnTheSilentResolver(t *testing.T) {
	cfg := baseConfig(t, silentDNS(t))
	cfg.Service, cfg.SQLServer = "contoso", "sqlsrv"
	cfg.Only = []string{"outbound.sql"}
	cfg.Timeout, cfg.Deadline = 200*time.Millisecond, 2*time.Second
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Interrupted || len(rep.Checks) != 1 || rep.Checks[0].Status != probes.Fail {
		t.Fatalf("interrupted %v, checks %+v", rep.Interrupted, rep.Checks)
	}
}

// Two runs with one state file: the second names what changed.
func TestRunAppliesTheState(t *testing.T) {
	dnsAddr := dnsServer(t, nil) // NXDOMAIN for everything
	path := filepath.Join(t.TempDir(), "state")
	cfg := baseConfig(t, dnsAddr)
	cfg.Only = []string{"outbound.sql"}

	for i, sql := range []string{"", "sqlsrv"} {
		st, err := state.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg.State, cfg.SQLServer = st, sql
		rep, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		schematest.ValidateReport(t, rep)
		if err := st.Save(); err != nil {
			t.Fatal(err)
		}
		c := rep.Checks[0]
		if c.Since.IsZero() {
			t.Fatalf("run %d: no since", i)
		}
		switch i {
		case 0:
			if len(rep.Changes) != 0 || c.Status != probes.Skip {
				t.Fatalf("first run: %+v, changes %v", c, rep.Changes)
			}
		case 1:
			if len(rep.Changes) != 1 || rep.Changes[0].From != probes.Skip || rep.Changes[0].To != probes.Fail {
				t.Fatalf("second run: changes %+v (check %s/%s)", rep.Changes, c.Status, c.Reason)
			}
		}
	}
}
