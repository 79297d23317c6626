package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/internal/testtool"
	"github.com/apimprobe/apimprobe/probes"
)

func TestBadBackendIsOneLineAndExit2(t *testing.T) {
	for _, c := range []struct {
		arg, want string
	}{
		{"api.contoso.com", "not a URL; write it with its scheme"},
		{"https://user:s3cret@api.contoso.com/", "leave credentials out"},
		{"https://" + strings.Repeat("a.", 130) + "com/", "at most 253"},
		{"gopher://api.contoso.com/", "want http or https"},
	} {
		for _, cmd := range []string{"plan", "run"} {
			r := runBinary(t, nil, append([]string{cmd, "--backend", c.arg}, offline...)...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "s3cret") || r.stdout != "" {
				t.Errorf("%s --backend %q: exit %d, stderr %q, stdout %q; want exit 2 and one line saying %q", cmd, c.arg, r.code, r.stderr, r.stdout, c.want)
			}
		}
	}
}

func TestPlanListsBackends(t *testing.T) {
	r := runBinary(t, nil, "plan", "-o", "json", "--only", "backend", "--backend", "https://Orders.Contoso.com/api?key=K", "--backend", "https://orders.contoso.com:443/v2", "--backend", "http://10.20.0.4:8080/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var plan []struct {
		ID, Category, Target string
		Required             bool
		Port                 int
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 3 || plan[0].ID != "backend.10-20-0-4-8080" || plan[2].ID != "backend.orders-contoso-com-443" ||
		plan[2].Target != "https://orders.contoso.com/api" || plan[2].Category != "Backends" || plan[2].Required || plan[2].Port != 443 ||
		plan[1].ID != "backend.discovered" || !strings.HasPrefix(plan[1].Target, "discovered at run time") {
		t.Errorf("plan %+v", plan)
	}
	if strings.Contains(r.stdout, "key=K") {
		t.Errorf("the plan shows the query string: %s", r.stdout)
	}
}

// A run against backends on loopback: one answers 401 (reached), one
// refuses. Optional by default (degraded, exit 0); --backend-required
// makes the refusal blocking (exit 1).
func TestRunProbesBackends(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	refused := testtool.Refusing(t).String()
	for _, c := range []struct {
		extra   []string
		code    int
		verdict string
	}{
		{nil, 0, report.Degraded},
		{[]string{"--backend-required"}, 1, report.Blocked},
	} {
		args := append([]string{"run", "-o", "json", "--only", "backend", "--backend", "http://127.0.0.1:" + port + "/orders", "--backend", "http://" + refused + "/"}, offline...)
		r := runBinary(t, nil, append(args, c.extra...)...)
		if r.code != c.code {
			t.Fatalf("%v: exit %d, want %d: %s", c.extra, r.code, c.code, r.stderr)
		}
		var rep report.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]report.Check{}
		for _, ch := range rep.Checks {
			got[ch.ID] = ch
		}
		ok := got["backend.127-0-0-1-"+port]
		if ok.Status != probes.Pass || !strings.Contains(ok.Message, "authentication refused") || ok.Category != "Backends" {
			t.Errorf("%v: reachable backend: %+v", c.extra, ok)
		}
		_, rport, _ := net.SplitHostPort(refused)
		bad := got["backend.127-0-0-1-"+rport]
		if bad.Status != probes.Fail || bad.Reason != probes.ReasonRefused || bad.FailedPhase != probes.PhaseConnect || bad.Hint == "" || bad.Required != (c.extra != nil) {
			t.Errorf("%v: refusing backend: %+v", c.extra, bad)
		}
		if rep.Summary.Verdict != c.verdict {
			t.Errorf("%v: verdict %s, want %s", c.extra, rep.Summary.Verdict, c.verdict)
		}
	}
}

// --redact replaces a backend's host name, in its id too.
func TestRedactHidesBackendNames(t *testing.T) {
	args := append([]string{"run", "-o", "json", "--redact", "--only", "backend", "--timeout", "300ms", "--backend", "https://orders.contoso-internal.test/api"}, offline...)
	r := runBinary(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "orders.contoso-internal") || strings.Contains(r.stdout, "orders-contoso-internal") || !strings.Contains(r.stdout, `"backend.`) {
		t.Errorf("the backend's name survives --redact:\n%s", r.stdout)
	}
}
