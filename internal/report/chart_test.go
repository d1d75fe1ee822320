package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

func TestMermaidChart(t *testing.T) {
	got := MermaidChart("val_accuracy", []string{`run "a"`, "b"}, []float64{0.5, 0.975})
	want := "```mermaid\nxychart-beta\n    title \"val_accuracy\"\n    x-axis [\"run 'a'\", \"b\"]\n    y-axis \"val_accuracy\"\n    bar [0.5, 0.975]\n```\n"
	require.Equal(t, want, got)
	require.Empty(t, MermaidChart("m", nil, nil), "a chart of nothing")
	labels := make([]string, 150)
	values := make([]float64, 150)
	for i := range labels {
		labels[i] = "x"
	}
	big := MermaidChart("m", labels, values)
	require.Equal(t, MaxChartPoints, strings.Count(big, `"x"`), "150 points: %s", big)
	require.Contains(t, big, "the first 100 of 150", "150 points: %s", big)
}

func TestRunsMarkdownChart(t *testing.T) {
	runs := []record.Summary{
		{ID: recordtest.ID(1), Experiment: "e", Status: record.StatusFinished, Metrics: map[string]float64{"acc": 0.9}},
		{ID: recordtest.ID(2), Experiment: "e", Status: record.StatusFailed, Metrics: map[string]float64{}},
	}
	var b bytes.Buffer
	require.NoError(t, WriteRuns(&b, runs, FormatMarkdown, FormatOptions{Chart: "acc"}))
	short := ShortIDs([]string{recordtest.ID(1), recordtest.ID(2)})
	require.Contains(t, b.String(), "| id |", "markdown:\n%s", b.String())
	require.Contains(t, b.String(), "x-axis [\""+short[0]+"\"]\n    y-axis \"acc\"\n    bar [0.9]", "markdown:\n%s", b.String())
	b.Reset()
	WriteRuns(&b, runs, FormatMarkdown, FormatOptions{Chart: "nope"})
	require.NotContains(t, b.String(), "mermaid", "a chart of a metric no run has")
}
