package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apimprobe/apimprobe/internal/testtool"

	"github.com/apimprobe/apimprobe/internal/filelock"
	"github.com/apimprobe/apimprobe/internal/report/schematest"
)

// The health job as an operator runs it: from a timer, with report files,
// a --state file, and signals from systemctl stop.

// silentUDP is a loopback resolver that never answers, which keeps a run
// busy for its whole --timeout.
func silentUDP(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

type snapshot map[string]struct {
	data  []byte
	mtime time.Time
}

func snap(t *testing.T, dir string) snapshot {
	t.Helper()
	s := snapshot{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		s[e.Name()] = struct {
			data  []byte
			mtime time.Time
		}{b, st.ModTime()}
	}
	return s
}

// SIGTERM (systemctl stop) and SIGINT (Ctrl-C) mid-run: exit 143 and 130,
// every report file and the state exactly as they were, and standard output
// says interrupted.
func TestSignalMidRunReplacesNoFile(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			old := map[string]string{
				"apimprobe.prom":  "apimprobe_verdict{service=\"contoso\",mode=\"internal\",verdict=\"ready\"} 1\n",
				"report.json":     "{\"previous\": true}\n",
				"junit.xml":       "<testsuites/>\n",
				"apimprobe.jsonl": "{\"line\": 1}\n",
				"state.json":      "{\"version\":1,\"checks\":{\"outbound.sql\":{\"status\":\"pass\",\"since\":\"2026-11-21T10:00:00Z\"}}}\n",
			}
			for name, content := range old {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			past := time.Now().Add(-time.Hour)
			for name := range old {
				os.Chtimes(filepath.Join(dir, name), past, past)
			}
			before := snap(t, dir)

			silent := silentUDP(t)
			cmd := exec.Command(binary, "run", "--service", "contoso", "--sql-server", "sqlsrv", "--phase", "post",
				"--only", "outbound.sql", "--only", "dns.gateway", "--only", "outbound.storage.*",
				"--timeout", "20s", "--deadline", "30s",
				"--imds-endpoint", "http://127.0.0.1:9", "--no-arm", "--no-egress",
				"--dns-server", silent, "--azure-dns", silent,
				"--log-level", "info", "--log-format", "json",
				"--state", filepath.Join(dir, "state.json"),
				"-o", "json",
				"-o", "prometheus="+filepath.Join(dir, "apimprobe.prom"),
				"-o", "json="+filepath.Join(dir, "report.json"),
				"-o", "junit="+filepath.Join(dir, "junit.xml"),
				"-o", "jsonl="+filepath.Join(dir, "apimprobe.jsonl"))
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the checks are in flight (the run logs "running").
			running := make(chan struct{})
			var logs bytes.Buffer
			go func() {
				sc := bufio.NewScanner(stderr)
				once := false
				for sc.Scan() {
					logs.WriteString(sc.Text() + "\n")
					if !once && strings.Contains(sc.Text(), `"message":"running"`) {
						once = true
						close(running)
					}
				}
			}()
			select {
			case <-running:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the run never started its checks")
			}
			time.Sleep(200 * time.Millisecond)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			// A run that went on despite the signal would end with its
			// verdict's code, not the signal's.
			err = cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, logs.String())
			}
			after := snap(t, dir)
			for name, b := range before {
				a, ok := after[name]
				if !ok || !bytes.Equal(a.data, b.data) || !a.mtime.Equal(b.mtime) {
					t.Errorf("%s was touched by an interrupted run:\n%s", name, a.data)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok && !strings.HasSuffix(name, ".lock") {
					t.Errorf("an interrupted run left %s behind", name)
				}
			}
			schematest.Validate(t, stdout.Bytes())
			var rep struct {
				Interrupted bool
				Summary     struct{ Verdict string }
				Checks      []struct{ ID, Status, Reason string }
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("stdout: %v\n%s", err, stdout.String())
			}
			if !rep.Interrupted || rep.Summary.Verdict != "interrupted" {
				t.Fatalf("stdout report: %+v", rep)
			}
			for _, c := range rep.Checks {
				if c.Status == "fail" {
					t.Errorf("%s judged %s/%s after the signal", c.ID, c.Status, c.Reason)
				}
			}
		})
	}
}

// A run that finds another holding its files' lock waits for it, then
// writes; one that waits longer than --deadline exits 2 with one line and
// writes nothing.
func TestOverlappingRunsTakeTurns(t *testing.T) {
	dir := t.TempDir()
	prom := filepath.Join(dir, "apimprobe.prom")
	args := append([]string{"run", "--service", "contoso", "--only", "outbound.sql", "--deadline", "1s",
		"-o", "prometheus=" + prom}, offline...)

	release, err := filelock.Acquire(context.Background(), []string{prom})
	if err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, nil, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "still holds") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q: want 2 and one line naming the lock", r.code, r.stderr)
	}
	if r.took < 900*time.Millisecond || r.took > 3*time.Second {
		t.Fatalf("gave up after %s with --deadline 1s", r.took)
	}
	if _, err := os.Stat(prom); err == nil {
		t.Fatal("a run that never got the lock wrote the report")
	}

	time.AfterFunc(300*time.Millisecond, release)
	r = runBinary(t, nil, append(args[:len(args):len(args)], "--deadline", "5s")...)
	if r.code != 0 {
		t.Fatalf("exit %d after the lock was released: %s", r.code, r.stderr)
	}
	if r.took < 250*time.Millisecond {
		t.Fatalf("finished in %s: it did not wait for the lock", r.took)
	}
	if _, err := os.Stat(prom); err != nil {
		t.Fatal("no report after the wait")
	}
}

// Two runs with --state: the second says what changed, in the table, the
// JSON and Prometheus.
func TestStateAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "state.json")
	prom := filepath.Join(dir, "apimprobe.prom")
	jsonl := filepath.Join(dir, "apimprobe.jsonl")
	base := append([]string{"run", "--service", "contoso", "--only", "outbound.sql", "--state", stateFile,
		"-o", "prometheus=" + prom, "-o", "jsonl=" + jsonl}, offline...)

	r := runBinary(t, nil, append(base, "-o", "table")...)
	if r.code != 0 || strings.Contains(r.stdout, "since the last run") {
		t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, nil, append(base, "--sql-server", "sqlsrv", "-o", "table")...)
	if r.code != 1 {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Changed since the last run (") || !strings.Contains(r.stdout, "outbound.sql skip → fail") {
		t.Fatalf("the table does not say what changed:\n%s", r.stdout)
	}
	text, _ := os.ReadFile(prom)
	if !strings.Contains(string(text), `apimprobe_check_last_change_timestamp_seconds{service="contoso",mode="internal",id="outbound.sql"}`) {
		t.Fatalf("no time of last change:\n%s", text)
	}
	lines, _ := os.ReadFile(jsonl)
	if n := bytes.Count(lines, []byte("\n")); n != 2 {
		t.Fatalf("%d jsonl lines after two runs", n)
	}
	schematest.ValidateLines(t, lines)
	last := lines[bytes.LastIndexByte(lines[:len(lines)-1], '\n')+1:]
	var rep struct {
		Changes []struct{ ID, From, To, Since string }
	}
	json.Unmarshal(last, &rep)
	if len(rep.Changes) != 1 || rep.Changes[0].ID != "outbound.sql" || rep.Changes[0].From != "skip" || rep.Changes[0].To != "fail" {
		t.Fatalf("changes %+v", rep.Changes)
	}
	r = runBinary(t, nil, append(base, "--sql-server", "sqlsrv", "-o", "table")...)
	if !strings.Contains(r.stdout, "No change since the last run") {
		t.Fatalf("third run:\n%s", r.stdout)
	}
}

// The "Done when" of the health job: two instances' textfiles, written by
// the binary, served by Debian's node_exporter, show both verdicts with no
// duplicate-series error; the same file twice does give that error, so the
// check can fail.
func TestNodeExporterServesTwoInstances(t *testing.T) {
	exporter := testtool.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	dir := t.TempDir()
	alpha := runBinary(t, nil, append([]string{"run", "--service", "alpha", "--only", "outbound.sql",
		"-o", "prometheus=" + filepath.Join(dir, "apimprobe-alpha.prom")}, offline...)...)
	beta := runBinary(t, nil, append([]string{"run", "--service", "beta", "--sql-server", "sqlsrv", "--only", "outbound.sql",
		"-o", "prometheus=" + filepath.Join(dir, "apimprobe-beta.prom")}, offline...)...)
	if alpha.code != 0 || beta.code != 1 {
		t.Fatalf("alpha exit %d, beta exit %d (want 0 and 1): %s %s", alpha.code, beta.code, alpha.stderr, beta.stderr)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs syncBuffer
	cmd := exec.Command(exporter, "--web.listen-address="+addr, "--collector.disable-defaults",
		"--collector.textfile", "--collector.textfile.directory="+dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	scrape := func() string {
		t.Helper()
		client := &http.Client{Timeout: 2 * time.Second}
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := client.Get("http://" + addr + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("node_exporter never answered: %v\n%s", err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	body := scrape()
	for _, want := range []string{
		`apimprobe_verdict{mode="internal",service="alpha",verdict="ready"} 1`,
		`apimprobe_verdict{mode="internal",service="beta",verdict="blocked"} 1`,
		`node_textfile_scrape_error 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("node_exporter does not serve %q\n%s", want, grepLines(body, "apimprobe_verdict", "node_textfile"))
		}
	}
	// A gathering error (a duplicate series) is counted by the handler and
	// shows in the next scrape.
	const noGatherError = `promhttp_metric_handler_errors_total{cause="gathering"} 0`
	if body := scrape(); !strings.Contains(body, noGatherError) || strings.Contains(logs.String(), "collected before") {
		t.Fatalf("node_exporter found duplicate series:\n%s\n%s", grepLines(body, "promhttp_metric_handler_errors"), logs.String())
	}

	// Control: a second copy of one instance's file is a duplicate, and
	// node_exporter says so. (This is what two instances did before every
	// series carried service and mode.)
	a, _ := os.ReadFile(filepath.Join(dir, "apimprobe-alpha.prom"))
	os.WriteFile(filepath.Join(dir, "apimprobe-alpha-copy.prom"), a, 0o644)
	scrape()
	body = scrape()
	if strings.Contains(body, noGatherError) {
		t.Fatalf("node_exporter did not report a duplicate for the same file twice; the check above proves nothing:\n%s", logs.String())
	}
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// syncBuffer is a bytes.Buffer a child process and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
