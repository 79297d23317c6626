package output

import (
	"fmt"
	"io"
	"testing"

	"github.com/apimprobe/apimprobe/internal/report"
)

// bigReport is a run of the size a real catalogue gives (~60 checks).
func bigReport() *report.Report {
	r := fixtureReport()
	base := r.Checks
	for i := 0; len(r.Checks) < 64; i++ {
		c := base[i%len(base)]
		c.ID = fmt.Sprintf("%s.%02d", c.ID, i)
		r.Checks = append(r.Checks, c)
	}
	return r
}

func BenchmarkRender(b *testing.B) {
	r := bigReport()
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(io.Discard, name, r, Options{Width: 120, Color: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteFileAtomic(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 32<<10)
	for b.Loop() {
		if err := WriteFileAtomic(dir+"/r.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

// The JSON report of a lab run (about 120 checks, 340 KB indented) written
// to standard output as the CLI writes it: what rendering allocates at the
// end of a run, when the heap is at its fullest.
func BenchmarkWriteAllJSONLab(b *testing.B) {
	r := labScenarios(b)["healthy"]
	if r == nil {
		b.Skip("no healthy lab report in testdata/lab")
	}
	specs := []Spec{{Format: "json"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteAll(specs, r, io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
