package record

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Summary is what the ledger knows of one run, folded from its events.
type Summary struct {
	ID         string
	Experiment string
	SweepID    string
	Key        string
	Status     Status
	ExitCode   int
	Started    time.Time
	Duration   float64
	Params     map[string]any
	Metrics    map[string]float64
	Git        *GitBrief
	GPU        string
	Host       string
	PID        int
	PIDStart   uint64
	Slurm      string // the Slurm job that ran it ("4242_3"), if one did
	Reproduces string // the run this one reproduces
	Verdict    string // a reproduction's verdict: reproduced or drifted
	PrunedStep *int   // a pruned trial: the last step its pruner judged
	Error      string // why the run failed, from its run.finished
}

// NewID returns a new run id: a UUIDv7, time-ordered and unique across
// machines, so ledgers from several machines merge without clashes.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new run id: %w", err)
	}
	return id.String(), nil
}

// RecordFromSummary is the part of a run record that the ledger knows, for
// a run whose run.json is missing (an imported ledger without run
// directories).
func RecordFromSummary(s Summary) *Run {
	r := &Run{ID: s.ID, Experiment: s.Experiment, SweepID: s.SweepID, Status: s.Status, ExitCode: s.ExitCode,
		Started: s.Started, DurationSec: s.Duration, Key: s.Key, Params: s.Params, Metrics: s.Metrics,
		Process: Process{Host: s.Host, PID: s.PID, PIDStart: s.PIDStart}}
	r.Reproduces, r.Verdict, r.PrunedStep, r.Error = s.Reproduces, s.Verdict, s.PrunedStep, s.Error
	if s.Git != nil {
		r.Git = &Git{SHA: s.Git.SHA, Branch: s.Git.Branch, Dirty: s.Git.Dirty}
	}
	if s.GPU != "" {
		r.GPU = &GPU{Devices: []GPUDevice{{Name: s.GPU}}}
	}
	return r
}
