package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestSweepEvents: a sweep's own events (no run id) sit in the ledger among
// the runs' events without being taken for runs or for torn lines by any
// reader, and an import brings them over once.
func TestSweepEvents(t *testing.T) {
	code := 0
	started := record.Event{Type: record.EventSweepStarted, Time: recordtest.T0, SweepID: "5e1f0c3a9b2d", Experiment: "digits",
		Spec: map[string]any{"method": "grid"}, Host: "h", PID: 1}
	var events []record.Event
	events = append(events, started)
	for i := range 3 {
		events = append(events,
			record.Event{Run: recordtest.ID(i), Type: record.EventRunStarted, Time: recordtest.T0.Add(time.Duration(i) * time.Minute), Experiment: "digits", SweepID: "5e1f0c3a9b2d"},
			record.Event{Run: recordtest.ID(i), Type: record.EventRunFinished, Status: record.StatusFinished, ExitCode: &code, Metrics: map[string]float64{"acc": float64(i) / 10}})
	}
	finished := record.Event{Type: record.EventSweepFinished, Time: recordtest.T0.Add(time.Hour), SweepID: "5e1f0c3a9b2d", Status: record.StatusFinished,
		Trials: []string{recordtest.ID(0), recordtest.ID(1), recordtest.ID(2)}, Best: recordtest.ID(2)}
	events = append(events, finished)
	l := mustWriteLedger(t, events, "")

	t.Run("ListSkipsThem", func(t *testing.T) {
		runs, warnings := mustList(t, l, Query{SweepID: "5e1f0c3a9b2d", Sort: "-acc"})
		require.Empty(t, warnings, "runs %v, warnings %q", ids(runs), warnings)
		require.Equal(t, []string{recordtest.ID(2), recordtest.ID(1), recordtest.ID(0)}, ids(runs), "runs %v, warnings %q", ids(runs), warnings)
	})
	t.Run("SummariesHaveNoPhantomRun", func(t *testing.T) {
		runs, warnings, err := l.Summaries()
		require.NoError(t, err, "%d summaries, warnings %q", len(runs), warnings)
		require.Empty(t, warnings, "%d summaries, warnings %q, err %v", len(runs), warnings, err)
		require.Len(t, runs, 3, "%d summaries, warnings %q, err %v", len(runs), warnings, err)
	})
	t.Run("FindIgnoresThem", func(t *testing.T) {
		got, warnings, err := Find(l, recordtest.ID(1)[30:])
		require.NoError(t, err, "find: %+v %q", got, warnings)
		require.Empty(t, warnings, "find: %+v %q %v", got, warnings, err)
		require.Equal(t, recordtest.ID(1), got[0].ID, "find: %+v %q %v", got, warnings, err)
	})
	t.Run("SweepStarted", func(t *testing.T) {
		ev, ok, err := SweepStarted(l, "5e1f0c3a9b2d")
		require.NoError(t, err, "%+v %v", ev, ok)
		require.True(t, ok, "%+v %v %v", ev, ok, err)
		require.Equal(t, "grid", ev.Spec["method"], "%+v %v %v", ev, ok, err)
		require.Equal(t, "digits", ev.Experiment, "%+v %v %v", ev, ok, err)
		_, ok, err = SweepStarted(l, "nope")
		require.False(t, ok, "unknown sweep: %v %v", ok, err)
		require.NoError(t, err, "unknown sweep: %v", ok)
	})
	t.Run("AllOfOneSweepOldestFirst", func(t *testing.T) {
		got, err := SweepEvents(l, "5e1f0c3a9b2d")
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, record.EventSweepStarted, got[0].Type)
		assert.Equal(t, finished.Best, got[1].Best)
		none, err := SweepEvents(l, "nope")
		assert.NoError(t, err)
		assert.Empty(t, none)
	})
	t.Run("RecordOfALedgerOnlyRun", func(t *testing.T) {
		runs, _ := mustList(t, l, Query{SweepID: "5e1f0c3a9b2d", Limit: 1})
		r, raw, warning, err := Record(l, runs[0])
		require.NoError(t, err)
		assert.Nil(t, raw)
		assert.Contains(t, warning, "run.json is missing: showing what the ledger knows of run "+runs[0].ID)
		assert.Equal(t, record.StatusFinished, r.Status)
	})
}
