package tracking

import (
	"slices"
	"testing"
	"time"
)

// TestSweepEvents: a sweep's own events (no run id) sit in the ledger among
// the runs' events without being taken for runs or for torn lines by any
// reader, and an import brings them over once.
func TestSweepEvents(t *testing.T) {
	code := 0
	started := Event{Type: EventSweepStarted, Time: listT0, SweepID: "5e1f0c3a9b2d", Experiment: "digits",
		Spec: map[string]any{"method": "grid"}, Host: "h", PID: 1}
	var events []Event
	events = append(events, started)
	for i := range 3 {
		events = append(events,
			Event{Run: listID(i), Type: EventRunStarted, Time: listT0.Add(time.Duration(i) * time.Minute), Experiment: "digits", SweepID: "5e1f0c3a9b2d"},
			Event{Run: listID(i), Type: EventRunFinished, Status: StatusFinished, ExitCode: &code, Metrics: map[string]float64{"acc": float64(i) / 10}})
	}
	finished := Event{Type: EventSweepFinished, Time: listT0.Add(time.Hour), SweepID: "5e1f0c3a9b2d", Status: StatusFinished,
		Trials: []string{listID(0), listID(1), listID(2)}, Best: listID(2)}
	events = append(events, finished)
	l := mustWriteLedger(t, events, "")

	t.Run("ListSkipsThem", func(t *testing.T) {
		runs, warnings := mustList(t, l, Query{SweepID: "5e1f0c3a9b2d", Sort: "-acc"})
		if len(warnings) != 0 || !slices.Equal(ids(runs), []string{listID(2), listID(1), listID(0)}) {
			t.Fatalf("runs %v, warnings %q", ids(runs), warnings)
		}
	})
	t.Run("SummariesHaveNoPhantomRun", func(t *testing.T) {
		runs, warnings, err := l.Summaries()
		if err != nil || len(warnings) != 0 || len(runs) != 3 {
			t.Fatalf("%d summaries, warnings %q, err %v", len(runs), warnings, err)
		}
	})
	t.Run("FindIgnoresThem", func(t *testing.T) {
		got, warnings, err := l.Find(listID(1)[30:])
		if err != nil || len(warnings) != 0 || got[0].ID != listID(1) {
			t.Fatalf("find: %+v %q %v", got, warnings, err)
		}
	})
	t.Run("SweepStarted", func(t *testing.T) {
		ev, ok, err := l.SweepStarted("5e1f0c3a9b2d")
		if err != nil || !ok || ev.Spec["method"] != "grid" || ev.Experiment != "digits" {
			t.Fatalf("%+v %v %v", ev, ok, err)
		}
		if _, ok, err := l.SweepStarted("nope"); ok || err != nil {
			t.Fatalf("unknown sweep: %v %v", ok, err)
		}
	})
	t.Run("ImportedOnce", func(t *testing.T) {
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
		var sweeps []Event
		for _, ev := range back {
			if ev.IsSweep() {
				sweeps = append(sweeps, ev)
			}
		}
		if err != nil || len(warnings) != 0 || len(sweeps) != 2 || sweeps[1].Best != listID(2) {
			t.Fatalf("sweep events after two imports: %+v (%q, %v)", sweeps, warnings, err)
		}
	})
}
