package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/internal/report/schematest"
	"github.com/apimprobe/apimprobe/probes"
)

// The black-box tests build the binary once and run it as an operator would.
// They never let it reach Azure: runs either select only checks that need no
// network, or point every endpoint at loopback, or happen inside an empty
// network namespace where nothing can leave.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "apimprobe-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "apimprobe")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func runBinary(t *testing.T, prefix []string, args ...string) result {
	t.Helper()
	argv := append(append([]string{}, prefix...), append([]string{binary}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// offline points every default that talks to Azure at loopback, where
// nothing listens on the discard port: the metadata service, both kinds of
// resolver; Resource Manager and the public egress echo are turned off.
var offline = []string{
	"--imds-endpoint", "http://127.0.0.1:9", "--no-arm", "--no-egress",
	"--dns-server", "127.0.0.1:9", "--azure-dns", "127.0.0.1:9",
}

func TestBadInputIsOneLineAndExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--timeout", "soon"},
		{"run", "--mode", "sideways"},
		{"run", "--cloud", "mars"},
		{"run", "--phase", "later"},
		{"run", "-o", "yaml"},
		{"run", "-o", "json", "-o", "table"},
		{"run", "--service", "-bad-"},
		{"run", "--service", "contoso.azure-api.net"},
		{"run", "--storage-account", "Has_Upper"},
		{"run", "--event-hub", "contoso.servicebus.windows.net"},
		{"plan", "--event-hub", "ab"},
		{"run", "--concurrency", "-3"},
		{"run", "--deadline", "0s"},
		{"run", "--bogus-flag"},
		{"run", "--subnet", "10.0.0.0/33"},
		{"run", "--subnet", "10.0.0.0/24", "--private-ip", "10.0.1.4"},
		{"run", "--only", "["},
		{"run", "extra-arg"},
		{"run", "--dns-server", "not-an-ip"},
		{"run", "--dns-server", "10.0.0.1:99999"},
		{"run", "--expect-egress", "somewhere"},
		{"run", "--egress-echo-url", "http://plain.example"},
		{"run", "--azure-roots", "/nonexistent/roots.pem"},
		{"run", "--azure-roots", "/etc/hostname"},
		{"run", "--arm-endpoint", "http://management.example"},
		{"run", "--service-tags", "/etc/hostname"},
		{"run", "--cache-dir", "/etc/hostname"},
		{"run", "--cache-dir", ""},
		{"run", "--cache-dir", "/proc/apimprobe"},
		{"run", "--arm", "--no-arm"},
		{"run", "--apim-subnet", "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/v"},
		{"run", "--only", "outbound.sq"},
		{"run", "--only", ""},
		{"run", "--skip", "*"},
		{"plan", "--skip", "outbound", "--skip", "dns", "--skip", "route", "--skip", "subnet", "--skip", "inbound", "--skip", "tls", "--skip", "instance", "--skip", "backend"},
		{"run", "--units", "40"},
		{"run", "--dns-server", "0.0.0.0"},
		{"plan", "--azure-roots", "/dev/zero"},
		{"plan", "--azure-roots", "/nonexistent\nsecond line"}, // the error quotes the path: still one line
		{"plan", "--service-tags", "/dev/zero"},
		{"run", "--state", "/dev/zero"},
		{"run", "--dns-server", "255.255.255.255"},
		{"run", "--azure-dns", "224.0.0.1"},
		{"plan", "--mode", "nope"},
		{"frobnicate"},
		{},
		{"version", "--bogus"},
	} {
		if len(args) > 0 && args[0] == "run" && !slices.Contains(args, "--egress-echo-url") {
			// Should a case be accepted by mistake, it still reaches
			// nothing but loopback. (--no-egress would hide a bad echo URL,
			// and a later --azure-dns would replace the case's own.)
			for i := 0; i < len(offline); i++ {
				if offline[i] == "--azure-dns" && slices.Contains(args, "--azure-dns") {
					i++
					continue
				}
				args = append(args, offline[i])
			}
		}
		r := runBinary(t, nil, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%v: wrote to stdout: %q", args, r.stdout)
		}
		if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n"); lines != 0 || r.stderr == "" {
			t.Errorf("%v: stderr is not one line: %q", args, r.stderr)
		}
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("%v: panicked: %s", args, r.stderr)
		}
	}
}

// --state is checked with the reports, before anything is sent: a file in
// a directory that is not there, a directory, and the file a report is
// also written to each get one line naming --state.
func TestStateFileIsCheckedBeforeProbing(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", filepath.Join(dir, "missing", "s.json")}, "directory " + filepath.Join(dir, "missing") + ": no such file"},
		{[]string{"--state", dir}, "is a directory"},
		{[]string{"--state", filepath.Join(dir, "r.json"), "-o", "json=" + filepath.Join(dir, "r.json")}, "write the same file"},
	} {
		args := append(append([]string{"run", "--only", "outbound.sql"}, tc.args...), offline...)
		r := runBinary(t, nil, args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "apimprobe run: --state ") || !strings.Contains(r.stderr, tc.want) ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused run left files behind: %v", entries)
	}
}

// --arm names why no Resource Manager token could be had.
func TestARMRequiredSaysWhy(t *testing.T) {
	r := runBinary(t, nil, "run", "--arm", "--imds-endpoint", "http://127.0.0.1:9", "--no-egress", "--dns-server", "127.0.0.1:9", "--azure-dns", "127.0.0.1:9")
	if r.code != 2 || !strings.Contains(r.stderr, "--arm") || !strings.Contains(r.stderr, "not running on an Azure VM") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// A selection that leaves no check is refused before anything is sent, and
// names the ids the operator probably meant.
func TestEmptySelectionNamesTheClosestIDs(t *testing.T) {
	r := runBinary(t, nil, append([]string{"run", "--only", "outbound.sq"}, offline...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "selects no check") || !strings.Contains(r.stderr, "outbound.sql") {
		t.Fatalf("exit %d: %q", r.code, r.stderr)
	}
}

// Ids hold no comma, so a comma in --only or --skip separates globs.
func TestSelectionTakesCommaLists(t *testing.T) {
	r := runBinary(t, nil, "plan", "-o", "json", "--service", "contoso", "--only", "outbound.sql, dns.gateway, dns.scm,,", "--skip", "no.such,dns.scm")
	var plan []struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &plan); r.code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %q", r.code, err, r.stderr)
	}
	var ids []string
	for _, c := range plan {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, " ") != "dns.gateway outbound.sql" {
		t.Errorf("--only 'outbound.sql, dns.gateway, dns.scm,,' --skip 'no.such,dns.scm' planned %v", ids)
	}
}

// The table and the help fit 80 columns when the terminal's width is
// unknown (a pipe, a job's log) and COLUMNS when it is set; plan's rows
// keep to it with the longest ids of every mode.
func TestTableWidthWithoutATerminal(t *testing.T) {
	for _, tc := range []struct {
		prefix []string
		width  int
	}{{[]string{"env", "-u", "COLUMNS"}, 80}, {[]string{"env", "COLUMNS=64"}, 64}} {
		// The help's prose and examples are written for 80 columns.
		helps := [][]string{{"--help"}, {"run", "--help"}, {"plan", "--help"}}
		if tc.width != 80 {
			helps = nil
		}
		for _, help := range helps {
			r := runBinary(t, tc.prefix, help...)
			for _, line := range strings.Split(r.stdout, "\n") {
				if n := utf8.RuneCountInString(line); n > tc.width {
					t.Errorf("%v %v: a line of %d columns: %q", tc.prefix, help, n, line)
				}
			}
		}
		for _, mode := range probes.Modes() {
			r := runBinary(t, tc.prefix, "plan", "-o", "table", "--service", "contoso", "--mode", string(mode))
			if r.code != 0 {
				t.Fatalf("%v %s: exit %d: %s", tc.prefix, mode, r.code, r.stderr)
			}
			for _, line := range strings.Split(r.stdout, "\n") {
				if n := utf8.RuneCountInString(line); n > tc.width {
					t.Errorf("%v %s: a line of %d columns: %q", tc.prefix, mode, n, line)
				}
			}
		}
	}
}

// A flag's error names the flag once.
func TestErrorsNameTheFlagOnce(t *testing.T) {
	for _, args := range [][]string{{"--subnet", "10.0.0.0/33"}, {"--private-ip", "1.2.3"}, {"--units", "40"}} {
		r := runBinary(t, nil, append(append([]string{"plan"}, args...), "-o", "json")...)
		if r.code != 2 || strings.Count(r.stderr, args[0]) != 1 {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
		}
	}
}

// A host name, URL or connection string pasted where a resource name is
// asked for is refused with the name in it, ready to copy; a custom
// domain or a region is not mistaken for one.
func TestPastedHostNamesSuggestTheName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sql-server", "tcp:mysql.database.windows.net,1433"}, "--sql-server mysql"},
		{[]string{"--storage-account", "https://MyStore.blob.core.windows.net/"}, "--storage-account mystore"},
		{[]string{"--key-vault", "https://kv-prod.vault.usgovcloudapi.net/"}, "--key-vault kv-prod"},
		{[]string{"--event-hub", "ns-events.servicebus.chinacloudapi.cn"}, "--event-hub ns-events"},
		{[]string{"--service", "contoso.azure-api.net"}, "--service contoso"},
		{[]string{"--service", "api.contoso.com"}, ""},
		{[]string{"--region", "westeurope.cloudapp.azure.net"}, ""},
	} {
		r := runBinary(t, nil, append(append([]string{"plan"}, tc.args...), "-o", "json")...)
		suggests := strings.Contains(r.stderr, "give the name, not a host name or URL: ")
		if r.code != 2 || suggests != (tc.want != "") || !strings.HasSuffix(strings.TrimSpace(r.stderr), tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 ending %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// What version and --help print is their whole answer: a write that fails
// is a failure.
func TestUnwritableStdoutFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	for _, args := range [][]string{{"version"}, {"--help"}, {"run", "--help"}} {
		cmd := exec.Command(binary, args...)
		cmd.Stdout = full
		if err := cmd.Run(); err == nil {
			t.Errorf("%v into /dev/full exited 0", args)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runBinary(t, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "apimprobe ") || !strings.Contains(r.stdout, "go1.") {
			t.Errorf("%v: %d %q", args, r.code, r.stdout)
		}
	}
	r := runBinary(t, nil, "run", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--deadline") || !strings.Contains(r.stdout, "(default 30s)") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
}

func TestHelpRunAndColor(t *testing.T) {
	a, b := runBinary(t, nil, "help", "run"), runBinary(t, nil, "run", "--help")
	if a.code != 0 || a.stdout != b.stdout || !strings.Contains(a.stdout, "Examples:") || !strings.Contains(a.stdout, "--redact") {
		t.Errorf("help run: %d %q", a.code, a.stdout)
	}
	for _, l := range strings.Split(a.stdout, "\n") {
		if len([]rune(l)) > 100 {
			t.Errorf("help line of %d columns: %q", len([]rune(l)), l)
		}
	}
	if r := runBinary(t, nil, "run", "--color", "sometimes"); r.code != 2 || !strings.Contains(r.stderr, "--color") {
		t.Errorf("bad --color: %d %q", r.code, r.stderr)
	}
	args := append([]string{"run", "--only", "outbound.sql", "-o", "table", "--sql-server", "secretsql"}, offline...)
	if r := runBinary(t, nil, append(args, "--color", "always")...); (r.code != 0 && r.code != 1) || !strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("--color always on a pipe: %d %q", r.code, r.stdout)
	}
	if r := runBinary(t, nil, append(args, "--color", "auto")...); strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("--color auto on a pipe: %q", r.stdout)
	}
}

func TestRedactAndCommand(t *testing.T) {
	r := runBinary(t, nil, append([]string{"run", "--only", "outbound.*", "-o", "json", "--service", "fabrikam",
		"--storage-account", "fabstore", "--redact"}, offline...)...)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, secret := range []string{"fabrikam", "fabstore"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("--redact left %q in the report", secret)
		}
	}
	var rep struct {
		Context  struct{ Command, Service string }
		Findings []any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Context.Service != "service-1" || !strings.HasPrefix(rep.Context.Command, "apimprobe run --only 'outbound.*' -o json --service service-1 ") || rep.Findings == nil {
		t.Errorf("context %+v findings %v", rep.Context, rep.Findings)
	}
}

func TestPlanListsChecksWithoutTraffic(t *testing.T) {
	r := runBinary(t, nil, "plan", "--service", "contoso", "--sql-server", "sqlsrv", "--event-hub", "contoso-logs", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var checks []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &checks); err != nil {
		t.Fatalf("plan json: %v\n%s", err, r.stdout)
	}
	found, eventHub := false, false
	for _, c := range checks {
		if c["id"] == "outbound.eventhub.amqp" {
			eventHub = c["target"] == "contoso-logs.servicebus.windows.net:5672" && c["preset"] == nil
		}
		if c["id"] == "outbound.sql" {
			found = true
			if c["target"] != "sqlsrv.database.windows.net:1433" || c["required"] != true {
				t.Fatalf("sql entry %v", c)
			}
		}
	}
	if !found {
		t.Fatal("plan lacks outbound.sql")
	}
	if !eventHub {
		t.Fatal("plan lacks --event-hub's outbound.eventhub.amqp, or skips it")
	}
}

func TestRunJSONShapeAndFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.json")
	md := filepath.Join(dir, "report.md")
	// Only checks that are skipped for lack of data: nothing is sent.
	r := runBinary(t, nil, append([]string{"run", "--only", "outbound.sql", "--only", "outbound.storage.*", "-o", "json", "-o", "json=" + file, "-o", "markdown=" + md}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	schematest.Validate(t, []byte(r.stdout))
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, r.stdout)
	}
	for _, k := range []string{"schema_version", "tool", "started_at", "duration_ms", "context", "summary", "checks"} {
		if _, ok := rep[k]; !ok {
			t.Fatalf("report lacks %q", k)
		}
	}
	sum := rep["summary"].(map[string]any)
	if sum["verdict"] != "ready" || sum["skip"].(float64) != 6 {
		t.Fatalf("summary %v", sum)
	}
	checks := rep["checks"].([]any)
	prev := ""
	for _, c := range checks {
		c := c.(map[string]any)
		if c["status"] != "skip" || c["reason"] != "no-data" || c["hint"] == "" {
			t.Fatalf("check %v", c)
		}
		if id := c["id"].(string); id < prev {
			t.Fatalf("checks out of order: %s after %s", id, prev)
		} else {
			prev = id
		}
	}
	onDisk, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(onDisk, []byte(r.stdout)) {
		t.Fatalf("the file report differs from stdout (%v)", err)
	}
	if b, err := os.ReadFile(md); err != nil || !bytes.Contains(b, []byte("outbound.sql")) {
		t.Fatalf("markdown file: %v", err)
	}
}

// TestRunInEmptyNetns runs every default check inside a network namespace
// with nothing in it: every dependency fails fast, the verdict is blocked,
// exit 1, and the run keeps to its deadline.
func TestRunInEmptyNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for an empty network namespace (unshare --net)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	r := runBinary(t, []string{"unshare", "--net"}, "run", "--service", "contoso", "--phase", "post", "--storage-account", "acct",
		"--timeout", "1s", "--deadline", "3s", "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if r.took > 3500*time.Millisecond {
		t.Fatalf("the run took %s, past its 3s deadline", r.took)
	}
	var rep struct {
		Summary struct{ Verdict string }
		Checks  []struct {
			ID, Status, Reason, Hint string
			FailedPhase              string `json:"failed_phase"`
			Required                 bool
		}
	}
	schematest.Validate(t, []byte(r.stdout))
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Verdict != "blocked" {
		t.Fatalf("verdict %s", rep.Summary.Verdict)
	}
	for _, c := range rep.Checks {
		if c.Status == "pass" {
			t.Fatalf("%s passed with no network at all", c.ID)
		}
		if c.Status == "fail" && (c.Hint == "" || c.FailedPhase == "") {
			t.Fatalf("%s: a failure needs a hint and a phase: %+v", c.ID, c)
		}
	}
}

// TestSilentResolversKeepTheDeadline points the VM's resolver and Azure DNS
// at a loopback UDP socket that never answers.
func TestSilentResolversKeepTheDeadline(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	silent := pc.LocalAddr().String()
	args := []string{"run", "--only", "outbound.sql", "--sql-server", "sqlsrv", "--timeout", "1s", "--deadline", "5s",
		"-o", "json", "--imds-endpoint", "http://127.0.0.1:9", "--no-arm", "--no-egress", "--dns-server", silent, "--azure-dns", silent}
	r := runBinary(t, nil, args...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	if r.took > 2500*time.Millisecond {
		t.Fatalf("took %s with a 1s timeout", r.took)
	}
	var rep struct {
		Context struct{ Resolvers []string }
		Checks  []struct{ ID, Status, Reason, Hint string }
	}
	schematest.Validate(t, []byte(r.stdout))
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != 1 || rep.Checks[0].Reason != "dns-timeout" || rep.Checks[0].Hint == "" {
		t.Fatalf("checks %+v", rep.Checks)
	}
	if len(rep.Context.Resolvers) != 1 || rep.Context.Resolvers[0] != silent {
		t.Fatalf("resolvers %v", rep.Context.Resolvers)
	}
}

// A FIFO given where a file is read is refused at once with one line:
// opening it for reading used to wait for a writer for ever (plan hung).
func TestFIFOInputsAreRefusedAtOnce(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, flag := range []string{"--azure-roots", "--service-tags"} {
		// timeout(1) ends a hang with 124, not with the test's own timeout.
		r := runBinary(t, []string{"timeout", "20"}, "plan", flag, fifo)
		if r.code != 2 || !strings.Contains(r.stderr, flag) || !strings.Contains(r.stderr, "pipe") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s FIFO: exit %d, stderr %q; want exit 2 and one line naming the flag and the pipe", flag, r.code, r.stderr)
		}
	}
}

// The temporary copies a killed run left beside its report and state are
// removed by the next run (under the lock), and only those.
func TestRunRemovesAKilledRunsCopies(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	leftovers := []string{".r.json.tmp-0123456789ab", ".state.json.tmp-ba9876543210", ".r.json.probe-00000000000f"}
	for _, name := range append([]string{"keep.tmp-0123456789ab"}, leftovers...) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("{\"half"), 0o644)
		os.Chtimes(p, old, old)
	}
	r := runBinary(t, nil, append([]string{"run", "--only", "outbound.sql", "-o", "json=" + filepath.Join(dir, "r.json"),
		"--state", filepath.Join(dir, "state.json")}, offline...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s is still there", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "keep.tmp-0123456789ab")); err != nil {
		t.Errorf("a file off the pattern was removed: %v", err)
	}
}
