package runner

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// TestResumeDir checks that an earlier attempt's output reaches the train
// stage as ${resume_dir} and MAGELAB_RESUME_DIR, and that without one the
// template gives an empty word and the variable is unset.
func TestResumeDir(t *testing.T) {
	s := stageSpec{Stage: config.Stage{Name: "train", Cmd: "python t.py --resume ${resume_dir}"}, Root: "/proj", Python: "/v/bin/python",
		Out: "/run/out", RunID: "r2", RunDir: "/run", BaseEnv: []string{"PATH=/usr/bin"}}
	t.Run("FromAnEarlierAttempt", func(t *testing.T) {
		s := s
		s.ResumeDir = "/runs/r1/out"
		_, args, env, err := stageCmd(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"-c", "exec python t.py --resume /runs/r1/out"}, args)
		checkEnv(t, env, map[string]string{"MAGELAB_RESUME_DIR": "/runs/r1/out"})
	})
	t.Run("NoEarlierAttempt", func(t *testing.T) {
		_, args, env, err := stageCmd(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"-c", "exec python t.py --resume ''"}, args)
		checkEnv(t, env, map[string]string{"MAGELAB_RESUME_DIR": ""})
	})
}

// TestFinishPreempted checks that a run whose context a cluster cancelled
// with a *Preempted cause is recorded as preempted, and one cancelled
// otherwise as interrupted.
func TestFinishPreempted(t *testing.T) {
	stopped := &StageError{Stage: "train", ExitCode: proc.ExitInterrupted}
	tests := []struct {
		name  string
		cause error
		err   error
		want  record.Status
	}{
		{"Preempted", &Preempted{Signal: syscall.SIGINT, Grace: time.Second, Why: "Slurm's warning"}, stopped, record.StatusPreempted},
		{"PreemptedButFinished", &Preempted{Why: "Slurm's warning"}, nil, record.StatusFinished},
		{"CtrlC", context.Canceled, stopped, record.StatusInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProject(t.TempDir(), Settings{}, io.Discard)
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(tt.cause)
			r := &Run{p: p, ctx: ctx, out: io.Discard, Record: &record.Run{ID: "019ce1a2-3b4c-7d5e-8f60-718293a4b5c6", Status: record.StatusRunning, Started: time.Now()}}
			err := r.Finish(tt.err)
			assert.Equal(t, tt.want, r.Record.Status)
			if tt.err != nil {
				var se *StageError
				assert.True(t, errors.As(err, &se), "the stage error is kept: %v", err)
			}
			if tt.want == record.StatusPreempted {
				assert.Contains(t, r.Record.Error, "preempted: Slurm's warning")
			}
			back, err2 := p.Ledger.ReadRecord(r.Record.ID)
			require.NoError(t, err2)
			assert.Equal(t, tt.want, back.Status)
			assert.FileExists(t, filepath.Join(p.Ledger.Dir, "ledger.jsonl"))
		})
	}
}
