package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestSlurmColumn checks that a listing shows the Slurm job of each run
// when any run has one, and no such column otherwise.
func TestSlurmColumn(t *testing.T) {
	runs := []record.Summary{
		{ID: recordtest.ID(2), Experiment: "x", Status: record.StatusPreempted, Started: recordtest.T0, Slurm: "4242_3", Metrics: map[string]float64{"acc": 0.5}},
		{ID: recordtest.ID(1), Experiment: "x", Status: record.StatusFinished, Started: recordtest.T0, Metrics: map[string]float64{"acc": 0.9}},
	}
	var b bytes.Buffer
	require.NoError(t, WriteRuns(&b, runs, FormatTable, FormatOptions{Location: time.UTC}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(lines[0]), "GPU  SLURM"), lines[0])
	assert.Contains(t, lines[0], " acc ", "metrics keep their case")
	assert.True(t, strings.HasSuffix(lines[1], "4242_3"), lines[1])
	assert.Contains(t, lines[1], "preempted")
	b.Reset()
	require.NoError(t, WriteRuns(&b, runs[1:], FormatTable, FormatOptions{Location: time.UTC}))
	assert.NotContains(t, b.String(), "SLURM")
	b.Reset()
	require.NoError(t, WriteRuns(&b, runs, FormatJSON, FormatOptions{}))
	assert.Contains(t, b.String(), `"slurm": "4242_3"`)
}
