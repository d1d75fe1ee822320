package ledger

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReadEvents feeds arbitrary bytes to the ledger reader: it must never
// panic, never return an event without a run id, and account for every
// non-blank line as either an event or a warning. Seeds: the golden ledger,
// its lines cut short at several points, and odd but valid JSON.
//
//	go test ./internal/tracking -run '^$' -fuzz FuzzReadEvents -fuzztime 30s
func FuzzReadEvents(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "ledger.jsonl"))
	require.NoError(f, err)
	f.Add(golden)
	for _, line := range bytes.Split(golden, []byte("\n")) {
		f.Add(line)
		for _, cut := range []int{1, len(line) / 3, len(line) / 2, len(line) - 1} {
			if cut > 0 && cut < len(line) {
				torn := append(append([]byte{}, golden...), line[:cut]...)
				f.Add(torn)
			}
		}
	}
	for _, s := range []string{
		"", "\n\n", "null\n", "{}\n", `{"run":""}`, `{"run":"a"}` + "\r\n", `{"run":"a","metrics":{"x":"NaN"}}`,
		`{"run":"a","exit_code":null,"git":null}`, `[1,2,3]`, `{"run":1}`, "\x00\xff{", `{"run":"a"}{"run":"b"}`,
		"\u00a0{\"run\":\"a\"}\u00a0", `{"run":"","type":"sweep.started"}`, `{"run":"","type":"run.started","sweep":"s"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		events, warnings, err := readEvents(bytes.NewReader(data), "ledger.jsonl")
		for _, ev := range events {
			require.False(t, ev.Run == "" && !ev.IsSweep(), "an event with an empty run id that is not a sweep's: %+v", ev)
			_, err := json.Marshal(ev)
			require.NoError(t, err, "an event read back cannot be written again")
		}
		if err != nil {
			return // only a line over the scanner's limit; not reachable with small inputs
		}
		lines := 0
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				lines++
			}
		}
		require.Equal(t, lines, len(events)+len(warnings), "%d events + %d warnings for %d non-blank lines", len(events), len(warnings), lines)
	})
}
