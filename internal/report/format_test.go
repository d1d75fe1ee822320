package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// The listing, show and compare formats are compared with golden files in
// testdata/golden (`go test ./internal/tracking -run Format -update`
// rewrites them), like run.json and the ledger lines.

var utc = FormatOptions{Location: time.UTC}

// formatRuns covers what a listing must handle: a dirty tree, a param that
// only some runs have, a value with a pipe and a line break, a run still
// going without git or metrics, and two ids whose last 8 characters agree.
func formatRuns() []record.Summary {
	t := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	return []record.Summary{
		{ID: "019ce1a2-3b4c-7d5e-8f60-7182a4b5c6d7", Experiment: "digits-mlp", Status: record.StatusRunning, Started: t.Add(2 * time.Hour),
			Params: map[string]any{"train.lr": 0.001, "seed": 42.0, "train.opt": "adam"}, Metrics: map[string]float64{},
			Host: "gpu-node-7", PID: 4242},
		{ID: "019ce1a0-0000-7000-8000-71829999c6d7", Experiment: "digits-mlp", SweepID: "sweep-1", Status: record.StatusFailed, ExitCode: 137,
			Started: t.Add(time.Hour), Duration: 3725.4,
			Params:  map[string]any{"train.lr": 0.01, "seed": 42.0, "train.opt": "a|b\nc", "train.layers": []any{64.0, 64.0}},
			Metrics: map[string]float64{"val_loss": 0.123456789},
			Git:     &record.GitBrief{SHA: "89abcdef0123456789abcdef0123456789abcdef", Branch: "exp/x"}, GPU: "1x NVIDIA H200", Host: "gpu-node-7"},
		{ID: "019ce19f-1111-7000-8000-000012345678", Experiment: "digits-mlp", Key: "k1", Status: record.StatusFinished, Started: t, Duration: 42.25,
			Params:  map[string]any{"train.lr": 0.1, "seed": 42.0, "train.opt": "sgd"},
			Metrics: map[string]float64{"val_accuracy": 0.97222, "val_loss": 0.0931},
			Git:     &record.GitBrief{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Dirty: true}, GPU: "1x NVIDIA H200", Host: "gpu-node-7"},
	}
}

func TestFormatRunsGolden(t *testing.T) {
	for _, tc := range []struct {
		format Format
		file   string
	}{
		{FormatTable, "runs.txt"}, {FormatMarkdown, "runs.md"}, {FormatCSV, "runs.csv"}, {FormatJSON, "runs.json"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, WriteRuns(&b, formatRuns(), tc.format, utc))
			recordtest.CheckGolden(t, tc.file, b.Bytes())
		})
	}
}

func TestFormatShowGolden(t *testing.T) {
	t.Run("FullRecord", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, WriteRun(&b, recordtest.GoldenRun(), utc))
		recordtest.CheckGolden(t, "show.txt", b.Bytes())
	})
	t.Run("LedgerOnly", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, WriteRun(&b, record.RecordFromSummary(formatRuns()[1]), utc))
		recordtest.CheckGolden(t, "show-ledger-only.txt", b.Bytes())
	})
}

func TestFormatCompareGolden(t *testing.T) {
	a, b := recordtest.GoldenRun(), recordtest.GoldenRun()
	b.ID = "019ce1a2-3b4c-7d5e-8f60-000000000001"
	b.Status, b.ExitCode, b.DurationSec = record.StatusFinished, 0, 60
	b.Params = map[string]any{"seed": 42.0, "train": map[string]any{"lr": 0.1, "device": "auto"}}
	b.Metrics = map[string]float64{"val_accuracy": 0.99}
	b.Git = &record.Git{SHA: "fedcba9876543210fedcba9876543210fedcba98", Branch: "main", Remote: a.Git.Remote}
	b.Env.PythonVersion = "3.11.9"
	b.GPU = nil
	var out bytes.Buffer
	require.NoError(t, WriteCompare(&out, []*record.Run{a, b}, utc))
	recordtest.CheckGolden(t, "compare.txt", out.Bytes())
	t.Run("SameEnvironment", func(t *testing.T) {
		c := recordtest.GoldenRun()
		c.ID = "019ce1a2-3b4c-7d5e-8f60-000000000002"
		var out bytes.Buffer
		WriteCompare(&out, []*record.Run{recordtest.GoldenRun(), c}, utc)
		require.Contains(t, out.String(), "(same for all runs)", "identical runs but for their id:\n%s", out.String())
		require.NotRegexp(t, regexp.MustCompile(`(?m)^\*`), out.String(), "identical runs but for their id:\n%s", out.String())
	})
}

// TestFormatMarkdownRenders checks the table's shape as GitHub parses it:
// every row has the header's number of cells once escaped pipes are
// skipped, and the delimiter row has one alignment per column.
func TestFormatMarkdownRenders(t *testing.T) {
	var b bytes.Buffer
	WriteRuns(&b, formatRuns(), FormatMarkdown, utc)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	unescaped := regexp.MustCompile(`(^|[^\\])\|`)
	cells := func(line string) int { return len(unescaped.FindAllString(line, -1)) - 1 }
	require.Len(t, lines, 2+len(formatRuns()), "%d lines, want header, delimiter and %d rows:\n%s", len(lines), len(formatRuns()), b.String())
	require.Regexp(t, regexp.MustCompile(`^\|(---:?\|)+$`), lines[1], "delimiter row %q", lines[1])
	for i, l := range lines {
		n := cells(l)
		require.Equal(t, cells(lines[0]), n, "line %d has %d cells, the header %d: %q", i, n, cells(lines[0]), l)
		require.True(t, strings.HasPrefix(l, "|"), "line %d has %d cells, the header %d: %q", i, n, cells(lines[0]), l)
		require.True(t, strings.HasSuffix(l, "|"), "line %d has %d cells, the header %d: %q", i, n, cells(lines[0]), l)
	}
}

func TestFormatCSVHasEverything(t *testing.T) {
	var b bytes.Buffer
	WriteRuns(&b, formatRuns(), FormatCSV, utc)
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	head := rows[0]
	for _, col := range []string{"params.seed", "params.train.layers", "metrics.val_accuracy", "metrics.val_loss", "sha", "dirty"} {
		assert.Contains(t, head, col, "no column %s in %q", col, head)
	}
	assert.Equal(t, "a|b\nc", rows[2][slices.Index(head, "params.train.opt")], "row 2 = %q", rows[2])
	assert.Equal(t, "0.123456789", rows[2][slices.Index(head, "metrics.val_loss")], "row 2 = %q", rows[2])
}

func TestFormatJSONDecodes(t *testing.T) {
	var b bytes.Buffer
	WriteRuns(&b, formatRuns(), FormatJSON, utc)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	require.Len(t, got, 3, "got %v", got)
	require.Equal(t, formatRuns()[2].ID, got[2]["id"], "got %v", got)
	require.Nil(t, got[0]["git"], "got %v", got)
	require.Equal(t, 0.97222, got[2]["metrics"].(map[string]any)["val_accuracy"], "got %v", got)
}

func TestShortIDs(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want []string
	}{
		{"LastEight", []string{"019ce1a2-3b4c-7d5e-8f60-7182a4b5c6d7", "019ce1a2-3b4c-7d5e-8f60-718200000001"}, []string{"a4b5c6d7", "00000001"}},
		{"LongerWhereTheyClash", []string{"019ce1a2-0000-7000-8000-1111a4b5c6d7", "019ce1a2-0000-7000-8000-2222a4b5c6d7"}, []string{"1a4b5c6d7", "2a4b5c6d7"}},
		{"AcrossTheDash", []string{"019ce1a2-0000-7000-8001-1111a4b5c6d7", "019ce1a2-0000-7000-8002-1111a4b5c6d7"}, []string{"1-1111a4b5c6d7", "2-1111a4b5c6d7"}},
		{"SameIDTwice", []string{"019ce1a2-0000-7000-8001-1111a4b5c6d7", "019ce1a2-0000-7000-8001-1111a4b5c6d7"}, []string{"a4b5c6d7", "a4b5c6d7"}},
		{"ShortIDsStay", []string{"abc", "x"}, []string{"abc", "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ShortIDs(tc.ids)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatTable, "MD": FormatMarkdown, "markdown": FormatMarkdown, " csv ": FormatCSV, "json": FormatJSON} {
		got, err := ParseFormat(in)
		assert.NoError(t, err, "ParseFormat(%q) = %q; want %q", in, got, want)
		assert.Equal(t, want, got, "ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
	}
	_, err := ParseFormat("xml")
	assert.EqualError(t, err, `unknown format "xml" (want table, md, csv, json or html)`)
}
