package slurm

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
	"github.com/magelab/magelab/internal/runner"
)

func TestPhase(t *testing.T) {
	run := func(s record.Status) *record.Summary { return &record.Summary{ID: recordtest.ID(1), Status: s} }
	task := func(state string) *Task { return &Task{ArrayJob: "9", Index: 0, State: state, Reason: "TimeLimit"} }
	tests := []struct {
		name      string
		st        TrialState
		submitted bool
		want      Phase
	}{
		{"NeverSubmitted", TrialState{}, false, Missing},
		{"FinishedWinsOverAnyTask", TrialState{Run: run(record.StatusFinished), Task: task("RUNNING")}, true, Finished},
		{"Pending", TrialState{Task: task("PENDING")}, true, Pending},
		{"RequeuedAfterPreemption", TrialState{Run: run(record.StatusPreempted), Task: task("PENDING")}, true, Pending},
		{"Running", TrialState{Run: run(record.StatusRunning), Task: task("RUNNING")}, true, Running},
		{"FailedRun", TrialState{Run: run(record.StatusFailed), Task: task("FAILED")}, true, Failed},
		{"KilledWithoutARecordedEnd", TrialState{Run: run(record.StatusRunning), Task: task("TIMEOUT")}, true, Failed},
		{"TaskEndedBeforeARun", TrialState{Task: task("FAILED")}, true, Failed},
		{"SlurmForgotTheTask", TrialState{}, true, Failed},
		{"FailedLocallyNeverSubmitted", TrialState{Run: run(record.StatusFailed)}, false, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := phase(tt.st, tt.submitted)
			assert.Equal(t, tt.want, got)
		})
	}
}

// startRun puts a run that recorded only its start (and, with end, its
// end as status) into l, as a task's magelab writes it.
func startRun(t *testing.T, l *ledger.Ledger, id string, end record.Status) {
	t.Helper()
	r := &record.Run{ID: id, Experiment: "tiny", Status: record.StatusRunning, Started: recordtest.T0, Metrics: map[string]float64{}}
	require.NoError(t, l.WriteRecord(r))
	require.NoError(t, l.Append(record.Event{Type: record.EventRunStarted, Run: id, Time: recordtest.T0, Experiment: "tiny", Host: "gpu-node-7", PID: 1}))
	if end != "" {
		r.Finish(end, 130, recordtest.T0.Add(time.Minute))
		r.Error = "stage train interrupted"
		require.NoError(t, l.WriteRecord(r))
		code := 130
		require.NoError(t, l.Append(record.Event{Type: record.EventRunFinished, Run: id, Time: recordtest.T0.Add(time.Minute), Status: end, ExitCode: &code}))
	}
}

// TestAmend checks how the submitting side records the end Slurm imposed
// on a task: once, with Slurm's verdict, before the trial is merged.
func TestAmend(t *testing.T) {
	end := recordtest.T0.Add(10 * time.Minute)
	tests := []struct {
		name       string
		recorded   record.Status // what the task recorded; "" for nothing
		task       *Task
		want       record.Status
		wantReason string // "" for no amendment
	}{
		{"TimeoutAfterTheTaskRecordedPreempted", record.StatusPreempted, &Task{ArrayJob: "9", State: "TIMEOUT", Reason: "TimeLimit", End: end}, record.StatusFailed, "TIMEOUT (TimeLimit)"},
		{"CancelledWhileRunning", "", &Task{ArrayJob: "9", State: "CANCELLED", End: end}, record.StatusFailed, "CANCELLED"},
		{"NodeFailIsCrashed", "", &Task{ArrayJob: "9", State: "NODE_FAIL", End: end}, record.StatusCrashed, "NODE_FAIL"},
		{"PreemptedHard", "", &Task{ArrayJob: "9", State: "PREEMPTED", End: end}, record.StatusPreempted, "preempted"},
		{"NoEndAndTaskExited", "", &Task{ArrayJob: "9", State: "FAILED", Reason: "NonZeroExitCode", End: end}, record.StatusFailed, "FAILED (NonZeroExitCode)"},
		{"RecordedEndStands", record.StatusPreempted, &Task{ArrayJob: "9", State: "COMPLETED", End: end}, record.StatusPreempted, ""},
		{"SlurmForgot", "", nil, record.StatusFailed, "no longer knows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lay := Layout{Root: t.TempDir(), ID: "abc"}
			tree := lay.TrialLedger(0)
			id := recordtest.ID(7)
			startRun(t, tree, id, tt.recorded)
			w := &watcher{lay: lay, jobs: &Jobs{ID: "abc"}, imported: map[int]int64{}}
			st := TrialState{Run: latestRun(tree), Task: tt.task, Tree: true}
			did, err := w.amend(0, st)
			require.NoError(t, err)
			assert.Equal(t, tt.wantReason != "", did)
			got := latestRun(tree)
			assert.Equal(t, tt.want, got.Status)
			r, err := tree.ReadRecord(id)
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Status, "run.json agrees with the ledger")
			if tt.wantReason != "" {
				assert.Contains(t, r.Error, tt.wantReason)
				if tt.task != nil && tt.recorded == "" {
					assert.Equal(t, end.UTC(), r.Ended.UTC(), "ended when Slurm says")
				}
				again, err := w.amend(0, TrialState{Run: latestRun(tree), Task: tt.task, Tree: true})
				require.NoError(t, err)
				assert.False(t, again, "amended once")
			}
		})
	}
}

func TestCloseDangling(t *testing.T) {
	for _, tt := range []struct {
		name     string
		restarts string
		want     record.Status
	}{{"Requeued", "1", record.StatusPreempted}, {"Resubmitted", "0", record.StatusFailed}} {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger.Open(t.TempDir())
			startRun(t, l, recordtest.ID(1), "")
			startRun(t, l, recordtest.ID(2), record.StatusFinished)
			closeDangling(l, func(k string) (string, bool) { return tt.restarts, k == "SLURM_RESTART_COUNT" }, io.Discard)
			runs, _, err := l.Summaries()
			require.NoError(t, err)
			assert.Equal(t, tt.want, runs[0].Status)
			assert.Equal(t, record.StatusFinished, runs[1].Status, "a run that ended is left alone")
		})
	}
}

// TestPreemptible sends the process Slurm's signals: each cancels the
// context with a runner.Preempted carrying the experiment's stop signal
// and a grace period that fits what Slurm leaves.
func TestPreemptible(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		grace time.Duration
	}{{"Warning", syscall.SIGUSR1, 45 * time.Second}, {"Terminate", syscall.SIGTERM, termGrace}} {
		t.Run(tt.name, func(t *testing.T) {
			s := &config.Slurm{SignalLead: 60, StopSignal: syscall.SIGUSR2}
			ctx, stop := preemptible(context.Background(), s, io.Discard)
			defer stop()
			require.NoError(t, syscall.Kill(syscall.Getpid(), tt.sig))
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the signal did not cancel the context")
			}
			var p *runner.Preempted
			require.True(t, errors.As(context.Cause(ctx), &p), "cause %v", context.Cause(ctx))
			assert.Equal(t, syscall.SIGUSR2, p.Signal)
			assert.Equal(t, tt.grace, p.Grace)
		})
	}
}
