package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestSweepEventsImportedOnce: an import brings a sweep's own events (no
// run id) over once, however often it is repeated.
func TestSweepEventsImportedOnce(t *testing.T) {
	started := record.Event{Type: record.EventSweepStarted, Time: recordtest.T0, SweepID: "5e1f0c3a9b2d", Experiment: "digits",
		Spec: map[string]any{"method": "grid"}, Host: "h", PID: 1}
	finished := record.Event{Type: record.EventSweepFinished, Time: recordtest.T0.Add(time.Hour), SweepID: "5e1f0c3a9b2d", Status: record.StatusFinished,
		Trials: []string{recordtest.ID(0), recordtest.ID(1), recordtest.ID(2)}, Best: recordtest.ID(2)}
	src := Open(t.TempDir())
	mustRun(t, src, "a")
	mustAppend(t, src, started)
	mustAppend(t, src, finished)
	dst := Open(t.TempDir())
	rep := mustImport(t, dst, src.Dir)
	require.Equal(t, 2, rep.SweepEvents, "first import: %+v", rep)
	require.Empty(t, rep.Rejected, "first import: %+v", rep)
	rep = mustImport(t, dst, src.Dir)
	require.Equal(t, 0, rep.SweepEvents, "second import: %+v, want no sweep event appended again", rep)
	require.Empty(t, rep.Rejected, "second import: %+v, want no sweep event appended again", rep)
	require.Empty(t, rep.Warnings, "second import: %+v, want no sweep event appended again", rep)
	back, warnings, err := dst.Events()
	var sweeps []record.Event
	for _, ev := range back {
		if ev.IsSweep() {
			sweeps = append(sweeps, ev)
		}
	}
	require.NoError(t, err, "sweep events after two imports: %+v (%q)", sweeps, warnings)
	require.Empty(t, warnings, "sweep events after two imports: %+v (%q, %v)", sweeps, warnings, err)
	require.Len(t, sweeps, 2, "sweep events after two imports: %+v (%q, %v)", sweeps, warnings, err)
	require.Equal(t, recordtest.ID(2), sweeps[1].Best, "sweep events after two imports: %+v (%q, %v)", sweeps, warnings, err)
}
