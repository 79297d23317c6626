// Package schematest validates reports against the report's JSON Schema
// (internal/report/schema.json) in tests. It is imported by tests only, so
// the schema library never reaches the binary.
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/apimprobe/apimprobe/internal/report"
)

var (
	once     sync.Once
	compiled *jsonschema.Schema
	compErr  error
)

func schema() (*jsonschema.Schema, error) {
	once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.Schema()))
		if err != nil {
			compErr = fmt.Errorf("schema.json: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		// format is an annotation by default in 2020-12; we mean it.
		c.AssertFormat()
		const url = "schema.json"
		if err := c.AddResource(url, doc); err != nil {
			compErr = err
			return
		}
		compiled, compErr = c.Compile(url)
	})
	return compiled, compErr
}

// Check validates one JSON report and returns what is wrong with it.
func Check(doc []byte) error {
	s, err := schema()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}

// Validate fails the test when doc is not a valid report.
func Validate(t testing.TB, doc []byte) {
	t.Helper()
	if err := Check(doc); err != nil {
		t.Fatalf("the report does not match internal/report/schema.json: %v\n%s", err, clip(doc))
	}
}

// ValidateReport marshals r as the json format does and validates it.
func ValidateReport(t testing.TB, r *report.Report) {
	t.Helper()
	out := *r
	if out.Checks == nil {
		out.Checks = []report.Check{}
	}
	b, err := json.Marshal(&out)
	if err != nil {
		t.Fatal(err)
	}
	Validate(t, b)
}

// ValidateLines validates every line of a JSON Lines document.
func ValidateLines(t testing.TB, doc []byte) {
	t.Helper()
	for i, line := range bytes.Split(bytes.TrimRight(doc, "\n"), []byte("\n")) {
		if err := Check(line); err != nil {
			t.Fatalf("line %d does not match internal/report/schema.json: %v\n%s", i+1, err, clip(line))
		}
	}
}

func clip(b []byte) string {
	if len(b) > 4000 {
		return string(b[:4000]) + "…"
	}
	return string(b)
}
