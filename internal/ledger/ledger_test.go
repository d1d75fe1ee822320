package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
)

func TestAppendAndRead(t *testing.T) {
	l := Open(t.TempDir())
	code := 0
	mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "a", Experiment: "exp", Key: "k1", Host: "h", PID: 1})
	mustAppend(t, l, record.Event{Type: record.EventRunFinished, Run: "a", Status: record.StatusFinished, ExitCode: &code, Metrics: map[string]float64{"acc": 0.9}})
	mustAppend(t, l, record.Event{Type: record.EventRunEvaluated, Run: "a", Metrics: map[string]float64{"test_acc": 0.8}})
	events, warnings, err := l.Events()
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Events: %v %v", err, warnings)
	}
	if len(events) != 3 || events[2].Type != record.EventRunEvaluated {
		t.Fatalf("events = %+v", events)
	}
	runs := fold(events, "h", func(int, uint64) bool { return false })
	if len(runs) != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	r := runs[0]
	if r.Status != record.StatusFinished || r.Key != "k1" || r.Metrics["acc"] != 0.9 || r.Metrics["test_acc"] != 0.8 {
		t.Errorf("summary = %+v", r)
	}
}

func TestTornLine(t *testing.T) {
	l := Open(t.TempDir())
	mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "a", Experiment: "exp"})
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"run.finished","run":"a","sta`)
	f.Close()

	t.Run("SkippedWithWarning", func(t *testing.T) {
		events, warnings, err := l.Events()
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "ledger.jsonl:2") {
			t.Fatalf("events=%d warnings=%q", len(events), warnings)
		}
	})
	t.Run("NextAppendStartsANewLine", func(t *testing.T) {
		mustAppend(t, l, record.Event{Type: record.EventRunStarted, Run: "b", Experiment: "exp"})
		events, warnings, _ := l.Events()
		if len(events) != 2 || events[1].Run != "b" || len(warnings) != 1 {
			t.Fatalf("events=%+v warnings=%q", events, warnings)
		}
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
			if r.Status != want[r.ID] {
				t.Errorf("status %s, want %s", r.Status, want[r.ID])
			}
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
				if err := l.Append(record.Event{Type: record.EventRunStarted, Run: fmt.Sprintf("w%d-%d", w, i), Experiment: strings.Repeat("x", 3000)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	events, warnings, err := l.Events()
	if err != nil || len(warnings) != 0 {
		t.Fatalf("err=%v warnings=%v", err, warnings)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.Run] {
			t.Fatalf("duplicate %s", e.Run)
		}
		seen[e.Run] = true
	}
	if len(seen) != 400 {
		t.Fatalf("got %d events, want 400", len(seen))
	}
}

func TestNewIDIsTimeOrdered(t *testing.T) {
	a, _ := record.NewID()
	time.Sleep(2 * time.Millisecond)
	b, _ := record.NewID()
	if !(a < b) || a[14] != '7' {
		t.Fatalf("ids %s, %s: want increasing UUIDv7", a, b)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	l := Open(t.TempDir())
	r := &record.Run{ID: "x", Experiment: "e", Status: record.StatusRunning, Params: map[string]any{"seed": 1.0}}
	r.SetStage(record.StageRecord{Name: "train", ExitCode: 3})
	r.SetStage(record.StageRecord{Name: "train", ExitCode: 0})
	r.Finish(record.StatusFinished, 0, time.Now())
	if err := l.WriteRecord(r); err != nil {
		t.Fatal(err)
	}
	got, err := l.ReadRecord("x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != record.StatusFinished || len(got.Stages) != 1 || got.Stages[0].ExitCode != 0 || got.Ended == nil {
		t.Fatalf("got %+v", got)
	}
	if matches, _ := filepath.Glob(filepath.Join(l.Dir, "x", ".run.json.tmp-*")); len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

func mustAppend(t *testing.T, l *Ledger, ev record.Event) {
	t.Helper()
	if err := l.Append(ev); err != nil {
		t.Fatal(err)
	}
}
