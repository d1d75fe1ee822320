package sweep

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nTrials(n int) []Trial {
	out := make([]Trial, n)
	for i := range out {
		out[i].Index = i
	}
	return out
}

func nSlots(n int) []Slot {
	out := make([]Slot, n)
	for i := range out {
		out[i] = Slot{ID: i, Devices: []string{string(rune('0' + i))}}
	}
	return out
}

func never(Outcome) bool { return false }

// TestScheduleKeepsSlotsBusy: every trial runs once, never two at a time in
// one slot, never more at once than there are slots, and all slots work.
func TestScheduleKeepsSlotsBusy(t *testing.T) {
	var mu sync.Mutex
	busy := map[int]bool{}
	var now, peak, ran int32
	used := map[int]int{}
	run := func(ctx context.Context, tr Trial, s Slot) Outcome {
		mu.Lock()
		assert.False(t, busy[s.ID], "slot %d got trial %d while busy", s.ID, tr.Index)
		busy[s.ID] = true
		used[s.ID]++
		mu.Unlock()
		if n := atomic.AddInt32(&now, 1); n > atomic.LoadInt32(&peak) {
			atomic.StoreInt32(&peak, n)
		}
		time.Sleep(time.Duration(1+tr.Index%4) * time.Millisecond)
		atomic.AddInt32(&now, -1)
		atomic.AddInt32(&ran, 1)
		mu.Lock()
		busy[s.ID] = false
		mu.Unlock()
		return Outcome{Status: record.StatusFinished, RunID: "r"}
	}
	outs := schedule(context.Background(), nTrials(40), nSlots(4), run, never)
	require.Equal(t, int32(40), ran, "ran %d, peak %d at once, slots used %v", ran, peak, used)
	require.LessOrEqual(t, peak, int32(4), "ran %d, peak %d at once, slots used %v", ran, peak, used)
	require.Len(t, used, 4, "ran %d, peak %d at once, slots used %v", ran, peak, used)
	for i, o := range outs {
		require.Equal(t, i, o.Trial.Index, "outcome %d: %+v", i, o)
		require.True(t, o.OK(), "outcome %d: %+v", i, o)
	}
}

// TestScheduleStops: once stop says so no trial starts, but the running
// ones finish; a cancelled context stops handing out trials too.
func TestScheduleStops(t *testing.T) {
	run := func(ctx context.Context, tr Trial, s Slot) Outcome {
		time.Sleep(time.Millisecond)
		return Outcome{Status: record.StatusFailed}
	}
	policy := failurePolicy(&Spec{})
	failed := 0
	stop := func(o Outcome) bool {
		failed++
		return policy(failed, 0) != ""
	}
	outs := schedule(context.Background(), nTrials(20), nSlots(1), run, stop)
	ran := 0
	for _, o := range outs {
		if o.Ran() {
			ran++
		}
	}
	require.Equal(t, 3, ran, "trials that ran with one slot and the default policy")

	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	cancelling := func(ctx context.Context, tr Trial, s Slot) Outcome {
		if started.Add(1) == 2 {
			cancel()
		}
		return Outcome{Status: record.StatusFinished}
	}
	outs = schedule(ctx, nTrials(20), nSlots(1), cancelling, never)
	require.Equal(t, int32(2), started.Load(), "after cancel: %d started", started.Load())
	require.True(t, outs[1].Ran(), "after cancel: %d started", started.Load())
	require.False(t, outs[2].Ran(), "after cancel: %d started", started.Load())
}

func TestFailurePolicy(t *testing.T) {
	tests := []struct {
		max, failed, finished int
		stop                  bool
	}{
		{0, 2, 0, false}, {0, 3, 0, true}, {0, 5, 1, false},
		{2, 1, 9, false}, {2, 2, 9, true},
		{-1, 100, 0, false},
	}
	for _, tc := range tests {
		got := failurePolicy(&Spec{MaxFailures: tc.max})(tc.failed, tc.finished) != ""
		assert.Equal(t, tc.stop, got, "max_failures %d, %d failed, %d finished: stop", tc.max, tc.failed, tc.finished)
	}
}
