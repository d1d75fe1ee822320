package tracking

import (
	"time"
)

// Status is how a run stands.
type Status string

// The statuses a run can have. Crashed is never written: it is inferred when
// a run's finish event never came and its process is gone.
const (
	StatusRunning     Status = "running"
	StatusFinished    Status = "finished"
	StatusFailed      Status = "failed"
	StatusInterrupted Status = "interrupted"
	StatusCrashed     Status = "crashed"
)

// Run is the full record of one run, stored as runs/<id>/run.json.
type Run struct {
	ID             string             `json:"id"`
	Experiment     string             `json:"experiment"`
	ExperimentFile string             `json:"experiment_file"`
	ExperimentHash string             `json:"experiment_hash"`
	SweepID        string             `json:"sweep_id,omitempty"`
	Status         Status             `json:"status"`
	ExitCode       int                `json:"exit_code"`
	Error          string             `json:"error,omitempty"`
	Started        time.Time          `json:"started"`
	Ended          *time.Time         `json:"ended,omitempty"`
	DurationSec    float64            `json:"duration_s"`
	Key            string             `json:"key"`
	Params         map[string]any     `json:"params"`
	ParamsHash     string             `json:"params_hash"`
	Stages         []StageRecord      `json:"stages"`
	Metrics        map[string]float64 `json:"metrics"`
	Process        Process            `json:"process"`
	Env            Env                `json:"env"`
}

// StageRecord is one stage of a run: its cache key, whether its output was
// reused, and how its process ended.
type StageRecord struct {
	Name     string    `json:"name"`
	Key      string    `json:"key"`
	Cached   bool      `json:"cached"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	ExitCode int       `json:"exit_code"`
	Output   string    `json:"output,omitempty"`
	Log      string    `json:"log,omitempty"`
}

// Process identifies the magelab process that owns a run, so that a run
// whose finish never came can be told apart from one still going.
type Process struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// Env is what a run was computed with. The full stamping grows here.
type Env struct {
	Python           string `json:"python"`
	RequirementsHash string `json:"requirements_hash"`
}

// Stage returns the record of the named stage and its index, or -1.
func (r *Run) Stage(name string) (StageRecord, int) {
	for i, s := range r.Stages {
		if s.Name == name {
			return s, i
		}
	}
	return StageRecord{}, -1
}

// SetStage replaces the record of s.Name, or appends it.
func (r *Run) SetStage(s StageRecord) {
	if _, i := r.Stage(s.Name); i >= 0 {
		r.Stages[i] = s
		return
	}
	r.Stages = append(r.Stages, s)
}

// Finish stamps the end of the run.
func (r *Run) Finish(status Status, exitCode int, at time.Time) {
	r.Status = status
	r.ExitCode = exitCode
	r.Ended = &at
	r.DurationSec = at.Sub(r.Started).Seconds()
}
