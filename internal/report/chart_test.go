package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

func TestMermaidChart(t *testing.T) {
	got := MermaidChart("val_accuracy", []string{`run "a"`, "b"}, []float64{0.5, 0.975})
	want := "```mermaid\nxychart-beta\n    title \"val_accuracy\"\n    x-axis [\"run 'a'\", \"b\"]\n    y-axis \"val_accuracy\"\n    bar [0.5, 0.975]\n```\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if MermaidChart("m", nil, nil) != "" {
		t.Fatal("a chart of nothing")
	}
	labels := make([]string, 150)
	values := make([]float64, 150)
	for i := range labels {
		labels[i] = "x"
	}
	big := MermaidChart("m", labels, values)
	if strings.Count(big, `"x"`) != MaxChartPoints || !strings.Contains(big, "the first 100 of 150") {
		t.Fatalf("150 points: %s", big)
	}
}

func TestRunsMarkdownChart(t *testing.T) {
	runs := []record.Summary{
		{ID: recordtest.ID(1), Experiment: "e", Status: record.StatusFinished, Metrics: map[string]float64{"acc": 0.9}},
		{ID: recordtest.ID(2), Experiment: "e", Status: record.StatusFailed, Metrics: map[string]float64{}},
	}
	var b bytes.Buffer
	if err := WriteRuns(&b, runs, FormatMarkdown, FormatOptions{Chart: "acc"}); err != nil {
		t.Fatal(err)
	}
	short := ShortIDs([]string{recordtest.ID(1), recordtest.ID(2)})
	if !strings.Contains(b.String(), "| id |") || !strings.Contains(b.String(), "x-axis [\""+short[0]+"\"]\n    y-axis \"acc\"\n    bar [0.9]") {
		t.Fatalf("markdown:\n%s", b.String())
	}
	b.Reset()
	WriteRuns(&b, runs, FormatMarkdown, FormatOptions{Chart: "nope"})
	if strings.Contains(b.String(), "mermaid") {
		t.Fatal("a chart of a metric no run has")
	}
}
