// Package codestyle holds no code: its tests enforce rules the whole
// module's source keeps (see funclen_test.go), in scripts/test and CI like
// every other test.
package codestyle
