package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrintable(t *testing.T) {
	tests := map[string]string{
		"plain":                    "plain",
		"ünïcode ok":               "ünïcode ok",
		"\x1b[2J\x1b[31mred":       `\x1b[2J\x1b[31mred`,
		"bell\a":                   `bell\a`,
		"tab\there\nline":          "tab here line",
		"evil\u202etxt.exe":        `evil\u202etxt.exe`,
		"zero\u200bwidth":          `zero\u200bwidth`,
		"c1\u009bcsi":              `c1\u009bcsi`,
		"bad\xffbyte":              `bad\xffbyte`,
		"del\x7f":                  `del\x7f`,
		"line\u2028sep":            `line\u2028sep`,
		"nul\x00":                  `nul\x00`,
		"carriage\rreturn":         "carriage return",
		"\x1b]0;title\x07terminal": `\x1b]0;title\aterminal`,
	}
	for in, want := range tests {
		assert.Equal(t, want, Printable(in), "Printable(%q)", in)
	}
	assert.Equal(t, "a\tb\nc \\x1b", PrintableText("a\tb\nc \x1b"))
}

// TestTablesEscapeControlCharacters: names and values a run recorded (its
// experiment, params, metric names, error) reach the terminal escaped, in
// every table and text format.
func TestTablesEscapeControlCharacters(t *testing.T) {
	evil := "\x1b[2J\x1b]0;pwned\x07"
	run := record.Summary{ID: "019a0000-0000-7000-8000-0000000000e1", Experiment: "exp" + evil, Status: record.StatusFinished,
		Started: time.Unix(1e9, 0), Params: map[string]any{"train.note" + evil: "v" + evil}, Metrics: map[string]float64{"acc" + evil: 0.5}}
	other := run
	other.ID, other.Params = "019a0000-0000-7000-8000-0000000000e2", map[string]any{"train.note" + evil: "w"}
	for _, f := range []Format{FormatTable, FormatMarkdown} {
		var out bytes.Buffer
		require.NoError(t, WriteRuns(&out, []record.Summary{run, other}, f, FormatOptions{}))
		assert.NotContains(t, out.String(), "\x1b", "format %v: %q", f, out.String())
		assert.NotContains(t, out.String(), "\x07", "format %v", f)
		assert.Contains(t, out.String(), `exp\x1b[2J\x1b]0;pwned\a`, "format %v", f)
	}
	var out bytes.Buffer
	rec := record.RecordFromSummary(run)
	rec.Error = "stage failed" + evil
	require.NoError(t, WriteRun(&out, rec, FormatOptions{}))
	assert.NotContains(t, out.String(), "\x1b")
	out.Reset()
	require.NoError(t, WriteCompare(&out, []*record.Run{rec, record.RecordFromSummary(other)}, FormatOptions{}))
	assert.NotContains(t, out.String(), "\x1b")
	assert.True(t, strings.Contains(out.String(), `\x1b[2J`), "%q", out.String())
}
