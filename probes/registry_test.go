package probes

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's list of kinds (the `kind` field of the report's checks) is
// the registry's, in its order: a kind added here and not documented, or
// documented and not declared, fails. It lacked ntp.
func TestREADMEListsTheRegistrysKinds(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`kind` \\(((?:`[a-z]+`(?:, )?)+)\\)").FindSubmatch(b)
	if m == nil {
		t.Fatal("the README has no list of kinds (`kind` (`tcp`, …))")
	}
	var readme []Kind
	for _, w := range regexp.MustCompile("`([a-z]+)`").FindAllSubmatch(m[1], -1) {
		readme = append(readme, Kind(w[1]))
	}
	if !slices.Equal(readme, Kinds()) {
		t.Errorf("README lists kinds %v, the registry declares %v", readme, Kinds())
	}
}

// Every kind SPEC names in a report (`"kind": "…"` in its examples) is
// declared. SPEC lives beside the repository (../shared in CI), or where
// APIMPROBE_SPEC says; without it this half is skipped.
func TestSPECKindsAreDeclared(t *testing.T) {
	path := "../../shared/SPEC.md"
	if p := os.Getenv("APIMPROBE_SPEC"); p != "" {
		path = p
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no %s (SPEC beside the repository)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`"kind": "([a-z]+)"`).FindAllSubmatch(b, -1)
	if len(found) == 0 {
		t.Fatal("SPEC names no kind in its examples: the pattern no longer matches it")
	}
	for _, m := range found {
		if _, ok := LookupKind(Kind(m[1])); !ok {
			t.Errorf("SPEC names kind %q, which the registry does not declare", m[1])
		}
	}
}

// Each kind is declared once, with a first phase from the vocabulary; the
// kinds that dial name their transport; the catalogue's kinds build their
// probe and a word that is not a kind fails as a bug, not a panic.
func TestRegistryIsWhole(t *testing.T) {
	seen := map[Kind]bool{}
	for _, s := range registry {
		if seen[s.Kind] {
			t.Errorf("kind %s declared twice", s.Kind)
		}
		seen[s.Kind] = true
		if !slices.Contains(Phases(), s.FirstPhase) {
			t.Errorf("kind %s starts in %q, not a phase", s.Kind, s.FirstPhase)
		}
		if s.Dials && s.Protocol == "" {
			t.Errorf("kind %s dials but names no protocol for hints", s.Kind)
		}
	}
	for _, k := range []Kind{KindTCP, KindTLS, KindHTTP, KindNTP} {
		if _, isFunc := k.Probe(Endpoint{Host: "x", Port: 1}).(ProbeFunc); isFunc {
			t.Errorf("kind %s builds no probe of its own", k)
		}
	}
	if k := Kind("carrier-pigeon"); k.Dials() || k.FirstPhase() != PhaseAnalysis {
		t.Errorf("an unknown kind dials or starts in %s", k.FirstPhase())
	}
	r := Kind("carrier-pigeon").Probe(Endpoint{}).Run(context.Background())
	if r.Status != Fail || r.Reason != ReasonError || !strings.Contains(r.Message, "carrier-pigeon") {
		t.Errorf("unknown kind: %s %s %q", r.Status, r.Reason, r.Message)
	}
}
