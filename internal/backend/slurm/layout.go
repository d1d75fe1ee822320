package slurm

import (
	"path/filepath"
	"strconv"

	"github.com/magelab/magelab/internal/ledger"
)

// Layout is where a submitted sweep or run lives under the project, on the
// shared filesystem:
//
//	.magelab/bin/magelab               the binary every task runs (built once per submission)
//	.magelab/slurm/<id>/plan.json      what each task runs (sweep:trial -plan -chunk)
//	.magelab/slurm/<id>/job.sh         the batch script
//	.magelab/slurm/<id>/jobs.json      the submissions, written by the submitting side only
//	.magelab/slurm/<id>/logs/          Slurm's output of each task (%A_%a.out)
//	.magelab/slurm/<id>/trials/<k>/    trial k's own runs/ tree and state, written by its task only
type Layout struct {
	Root string // the project root
	ID   string // the sweep's id, or "train-<id>" for a run
}

// Dir is the submission's directory.
func (l Layout) Dir() string { return filepath.Join(l.Root, ".magelab", "slurm", l.ID) }

// Binary is the magelab binary the tasks run.
func (l Layout) Binary() string { return filepath.Join(l.Root, ".magelab", "bin", "magelab") }

// Plan is the plan file the tasks read.
func (l Layout) Plan() string { return filepath.Join(l.Dir(), "plan.json") }

// Script is the batch script.
func (l Layout) Script() string { return filepath.Join(l.Dir(), "job.sh") }

// Jobs is the record of the submissions.
func (l Layout) Jobs() string { return filepath.Join(l.Dir(), "jobs.json") }

// Logs is where Slurm writes the tasks' output.
func (l Layout) Logs() string { return filepath.Join(l.Dir(), "logs") }

// Log is the output file of task t, as the batch script's --output names it.
func (l Layout) Log(t Task) string {
	if t.ArrayJob == "" {
		return filepath.Join(l.Logs(), t.Job+".out")
	}
	return filepath.Join(l.Logs(), t.ArrayJob+"_"+strconv.Itoa(t.Index)+".out")
}

// Trial is the directory of trial k (0-based; task k of the array).
func (l Layout) Trial(k int) string { return filepath.Join(l.Dir(), "trials", strconv.Itoa(k)) }

// TrialLedger is trial k's own runs/ tree.
func (l Layout) TrialLedger(k int) *ledger.Ledger {
	return ledger.Open(filepath.Join(l.Trial(k), "runs"))
}

// TrialState is where trial k's task keeps its hash cache.
func (l Layout) TrialState(k int) string { return filepath.Join(l.Trial(k), "state") }
