package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

func TestAppendAndRead(t *testing.T) {
	l := Open(t.TempDir())
	code := 0
	mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "a", Experiment: "exp", Key: "k1", Host: "h", PID: 1})
	mustAppend(t, l, record.Event{Type: record.EventRunFinished, Run: "a", Status: record.StatusFinished, ExitCode: &code, Metrics: map[string]float64{"acc": 0.9}})
	mustAppend(t, l, record.Event{Type: record.EventRunEvaluated, Run: "a", Metrics: map[string]float64{"test_acc": 0.8}})
	events, warnings, err := l.Events()
	require.NoError(t, err, "Events")
	require.Empty(t, warnings, "Events")
	require.Len(t, events, 3, "events = %+v", events)
	require.Equal(t, record.EventRunEvaluated, events[2].Type, "events = %+v", events)
	runs := fold(events, "h", func(int, uint64) bool { return false })
	require.Len(t, runs, 1, "runs = %+v", runs)
	r := runs[0]
	assert.Equal(t, record.StatusFinished, r.Status, "summary = %+v", r)
	assert.Equal(t, "k1", r.Key, "summary = %+v", r)
	assert.Equal(t, 0.9, r.Metrics["acc"], "summary = %+v", r)
	assert.Equal(t, 0.8, r.Metrics["test_acc"], "summary = %+v", r)
}

func TestTornLine(t *testing.T) {
	l := Open(t.TempDir())
	mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "a", Experiment: "exp"})
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	f.WriteString(`{"type":"run.finished","run":"a","sta`)
	f.Close()

	t.Run("SkippedWithWarning", func(t *testing.T) {
		events, warnings, err := l.Events()
		require.NoError(t, err)
		require.Len(t, events, 1, "events=%d warnings=%q", len(events), warnings)
		require.Len(t, warnings, 1, "events=%d warnings=%q", len(events), warnings)
		require.Contains(t, warnings[0], "ledger.jsonl:2", "events=%d warnings=%q", len(events), warnings)
	})
	t.Run("NextAppendStartsANewLine", func(t *testing.T) {
		mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "b", Experiment: "exp"})
		events, warnings, _ := l.Events()
		require.Len(t, events, 2, "events=%+v warnings=%q", events, warnings)
		require.Equal(t, "b", events[1].Run, "events=%+v warnings=%q", events, warnings)
		require.Len(t, warnings, 1, "events=%+v warnings=%q", events, warnings)
	})
}

func TestCrashedWhenProcessGone(t *testing.T) {
	events := []record.Event{
		{Type: record.EventRunStarted, Run: "dead", Host: "h", PID: 10, PIDStart: 500},
		{Type: record.EventRunStarted, Run: "alive", Host: "h", PID: 11, PIDStart: 600},
		{Type: record.EventRunStarted, Run: "aliveStartUnknown", Host: "h", PID: 11},
		{Type: record.EventRunStarted, Run: "pidReused", Host: "h", PID: 11, PIDStart: 400},
		{Type: record.EventRunStarted, Run: "elsewhere", Host: "other", PID: 10},
	}
	live := map[int]uint64{11: 600} // pid → start ticks of the processes running now
	runs := fold(events, "h", func(pid int, start uint64) bool {
		got, ok := live[pid]
		return ok && (start == 0 || start == got)
	})
	want := map[string]record.Status{
		"dead": record.StatusCrashed, "alive": record.StatusRunning, "aliveStartUnknown": record.StatusRunning,
		"pidReused": record.StatusCrashed, "elsewhere": record.StatusRunning,
	}
	for _, r := range runs {
		t.Run(strings.ToUpper(r.ID[:1])+r.ID[1:], func(t *testing.T) {
			assert.Equal(t, want[r.ID], r.Status, "status")
		})
	}
}

// TestConcurrentAppends appends from many goroutines with separate file
// handles; every event must come back whole and exactly once.
func TestConcurrentAppends(t *testing.T) {
	l := Open(t.TempDir())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := l.Append(record.Event{Type: record.EventRunStarted, Run: fmt.Sprintf("w%d-%d", w, i), Experiment: strings.Repeat("x", 3000)})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	events, warnings, err := l.Events()
	require.NoError(t, err, "warnings=%v", warnings)
	require.Empty(t, warnings, "err=%v", err)
	seen := map[string]bool{}
	for _, e := range events {
		require.False(t, seen[e.Run], "duplicate %s", e.Run)
		seen[e.Run] = true
	}
	require.Len(t, seen, 400, "got %d events, want 400", len(seen))
}

func TestNewIDIsTimeOrdered(t *testing.T) {
	a, _ := record.NewID()
	time.Sleep(2 * time.Millisecond)
	b, _ := record.NewID()
	require.Less(t, a, b, "ids %s, %s: want increasing UUIDv7", a, b)
	require.Equal(t, byte('7'), a[14], "ids %s, %s: want increasing UUIDv7", a, b)
}

func TestRecordRoundTrip(t *testing.T) {
	l := Open(t.TempDir())
	r := &record.Run{ID: "x", Experiment: "e", Status: record.StatusRunning, Params: map[string]any{"seed": 1.0}}
	r.SetStage(record.StageRecord{Name: "train", ExitCode: 3})
	r.SetStage(record.StageRecord{Name: "train", ExitCode: 0})
	r.Finish(record.StatusFinished, 0, time.Now())
	require.NoError(t, l.WriteRecord(r))
	got, err := l.ReadRecord("x")
	require.NoError(t, err)
	require.Equal(t, record.StatusFinished, got.Status, "got %+v", got)
	require.Len(t, got.Stages, 1, "got %+v", got)
	require.Equal(t, 0, got.Stages[0].ExitCode, "got %+v", got)
	require.NotNil(t, got.Ended, "got %+v", got)
	matches, _ := filepath.Glob(filepath.Join(l.Dir, "x", ".run.json.tmp-*"))
	require.Empty(t, matches, "temporary files left: %v", matches)
}

func mustAppend(t *testing.T, l *Ledger, ev record.Event) {
	t.Helper()
	require.NoError(t, l.Append(ev))
}
