package gpu

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParseQuery: any output parses or is refused, never panics, and a
// parsed inventory has one device per non-blank line.
func FuzzParseQuery(f *testing.F) {
	for _, p := range []string{"testdata/h200/query.csv", "testdata/four-gpu/query.csv", "testdata/na/query.csv", "testdata/h200/query-with-units.csv", "testdata/h200/nvidia-smi.txt"} {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := parseQuery(b)
		if err != nil {
			return
		}
		lines := 0
		for l := range strings.Lines(string(b)) {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		assert.Len(t, inv.Devices, lines, "%d devices from %d lines", len(inv.Devices), lines)
	})
}

// FuzzParseRow: a telemetry line is a row or not, and a row writes back as
// six CSV fields.
func FuzzParseRow(f *testing.F) {
	b, err := os.ReadFile("testdata/telemetry/fixed.csv")
	require.NoError(f, err)
	for l := range strings.Lines(string(b)) {
		f.Add(strings.TrimSpace(l))
	}
	f.Add("Field \"x\" is not a valid field to query.")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parseRow(line)
		if ok {
			assert.Len(t, r.record(), len(TelemetryHeader), "row %q writes %d fields", line, len(r.record()))
		}
	})
}
