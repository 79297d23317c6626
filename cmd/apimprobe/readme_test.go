package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
	"github.com/apimprobe/apimprobe/probes"
)

// The README is the contract users get (the repository ships no other):
// every status and reason word, every exit code, every top-level report
// field, and a link to the schema; no reference to files it does not ship.
func TestREADMECarriesTheContract(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, absent := range []string{"SPEC.md", "azure-facts.md", "see SPEC"} {
		if strings.Contains(readme, absent) {
			t.Errorf("the README cites %s, which the repository does not ship", absent)
		}
	}
	for _, r := range probes.Reasons() {
		if !strings.Contains(readme, "`"+string(r)+"`") {
			t.Errorf("reason %s is not in the README", r)
		}
	}
	// The areas ids start with, and the words the instance's own probe
	// agrees or disagrees with this VM's in.
	for _, a := range probes.Areas() {
		if !strings.Contains(readme, "`"+string(a)+"`") {
			t.Errorf("area %s is not in the README", a)
		}
	}
	for _, a := range probes.Agreements() {
		if !strings.Contains(readme, "`"+string(a)+"`") {
			t.Errorf("instance probe agreement %s is not in the README", a)
		}
	}
	for _, s := range probes.Statuses() {
		if !strings.Contains(readme, "`"+string(s)+"`") {
			t.Errorf("status %s is not in the README", s)
		}
	}
	for _, code := range []string{"| 0 |", "| 1 |", "| 2 |", "| 130, 143 |"} {
		if !strings.Contains(readme, code) {
			t.Errorf("exit code row %q is not in the README", code)
		}
	}
	var schema struct{ Properties map[string]any }
	if err := json.Unmarshal(report.Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	for field := range schema.Properties {
		if !strings.Contains(readme, "`"+field+"`") {
			t.Errorf("report field %s is not in the README", field)
		}
	}
	if !strings.Contains(readme, "(internal/report/schema.json)") {
		t.Error("the README does not link the report's JSON Schema")
	}
	// Every relative link resolves.
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join("../..", m[1])); err != nil {
			t.Errorf("the README links %s, which does not exist", m[1])
		}
	}
}

// The image says which version it is: the Dockerfile stamps the build
// arguments, the README shows them, and --network host is explained.
func TestContainerStampsVersionAndNeedsHostNetwork(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("../..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	docker, readme, ignore := read("Dockerfile"), read("README.md"), read(".dockerignore")
	for _, want := range []string{"ARG VERSION", "ARG COMMIT", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}",
		`org.opencontainers.image.version="${VERSION}"`} {
		if !strings.Contains(docker, want) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}
	for _, want := range []string{"--build-arg VERSION=", "--build-arg COMMIT=", "--network host"} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README lacks %s", want)
		}
	}
	if !regexp.MustCompile(`(?m)^\.git$`).MatchString(ignore) {
		t.Error(".dockerignore does not leave .git out")
	}
	if _, err := os.Stat("../../LICENSE"); err != nil {
		t.Error("no LICENSE")
	}
}
