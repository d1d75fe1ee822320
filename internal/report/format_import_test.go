package report

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
)

func TestFormatImport(t *testing.T) {
	got := FormatImport(ledger.ImportReport{
		Added:     []string{"a1"},
		Skipped:   []string{"s1", "s2"},
		Conflicts: []ledger.ImportConflict{{ID: "c1", Reason: "run.json differs in metrics"}},
		Rejected:  []string{`run "../x": not a run id`},
		Warnings:  []string{"run w1: no run.json"},
	})
	want := `added 1 run(s), skipped 2 already here, 1 conflict(s), 1 rejected
  added    a1
  conflict c1: run.json differs in metrics
  rejected run "../x": not a run id
  warning  run w1: no run.json
`
	require.Equal(t, want, got)
}
