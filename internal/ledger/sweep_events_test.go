package ledger

import (
	"testing"
	"time"

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
	if rep := mustImport(t, dst, src.Dir); rep.SweepEvents != 2 || len(rep.Rejected) != 0 {
		t.Fatalf("first import: %+v", rep)
	}
	if rep := mustImport(t, dst, src.Dir); rep.SweepEvents != 0 || len(rep.Rejected)+len(rep.Warnings) != 0 {
		t.Fatalf("second import: %+v, want no sweep event appended again", rep)
	}
	back, warnings, err := dst.Events()
	var sweeps []record.Event
	for _, ev := range back {
		if ev.IsSweep() {
			sweeps = append(sweeps, ev)
		}
	}
	if err != nil || len(warnings) != 0 || len(sweeps) != 2 || sweeps[1].Best != recordtest.ID(2) {
		t.Fatalf("sweep events after two imports: %+v (%q, %v)", sweeps, warnings, err)
	}
}
