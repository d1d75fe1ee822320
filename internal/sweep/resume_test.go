package sweep

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestResumeDirs checks which trials get an earlier attempt's output to
// resume from: those whose latest attempt did not finish and left out/.
func TestResumeDirs(t *testing.T) {
	s := mustSpec(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 0.001, 0.0001]\n")
	trials := Expand(s)
	l := ledger.Open(t.TempDir())
	attempt := func(i int, trial int, status record.Status, out bool) {
		id := recordtest.ID(i)
		require.NoError(t, l.Append(record.Event{Type: record.EventRunStarted, Run: id, Time: recordtest.T0.Add(time.Duration(i) * time.Minute),
			SweepID: "sw", Experiment: "x", Params: map[string]any{"train.lr": trials[trial].Values[0].Value}}))
		if status != record.StatusRunning {
			code := 1
			require.NoError(t, l.Append(record.Event{Type: record.EventRunFinished, Run: id, Time: recordtest.T0.Add(time.Duration(i)*time.Minute + time.Second), Status: status, ExitCode: &code}))
		}
		if out {
			require.NoError(t, os.MkdirAll(filepath.Join(l.RunDir(id), "out"), 0o755))
		}
	}
	attempt(1, 0, record.StatusPreempted, true)   // trial 1: preempted → resume from it
	attempt(2, 1, record.StatusPreempted, true)   // trial 2: preempted, then finished → nothing
	attempt(3, 1, record.StatusFinished, true)    //
	attempt(4, 2, record.StatusFailed, false)     // trial 3: failed before writing out/ → nothing
	attempt(5, 3, record.StatusInterrupted, true) // trial 4: interrupted → resume from it
	got := resumeDirs(l, "sw", s)
	assert.Equal(t, map[string]string{
		trialKey(trials[0].Values): filepath.Join(l.RunDir(recordtest.ID(1)), "out"),
		trialKey(trials[3].Values): filepath.Join(l.RunDir(recordtest.ID(5)), "out"),
	}, got)
}

// TestAllocationSlot checks the slot of a Slurm task: the allocation's
// GPUs as Slurm made them visible, left as they are, and all its cores.
func TestAllocationSlot(t *testing.T) {
	s := allocationSlot([]string{"1"}, 8)
	assert.Equal(t, Slot{Devices: []string{"1"}, Threads: 8, Inherit: true}, s)
	assert.Equal(t, "gpu 1", s.Name())
	assert.Equal(t, "slurm 4242_3", Slot{Label: "slurm 4242_3"}.Name())
}
