package report

import _ "embed"

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of the report, the file
// internal/report/schema.json: the contract every report the tests produce
// is validated against.
func Schema() []byte { return append([]byte(nil), schema...) }
