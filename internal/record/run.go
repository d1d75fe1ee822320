package record

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
	// StatusPruned is a sweep trial stopped by early stopping: its curve
	// fell behind the others' (Run.PrunedStep says where).
	StatusPruned Status = "pruned"
	// StatusPreempted is a run the cluster stopped (a Slurm preemption,
	// requeue or time limit): its stage was asked to checkpoint, and the
	// next attempt of the same trial can resume from its output.
	StatusPreempted Status = "preempted"
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
	PrunedStep     *int               `json:"pruned_step,omitempty"` // a pruned trial: the last step its pruner judged
	Started        time.Time          `json:"started"`
	Ended          *time.Time         `json:"ended,omitempty"`
	DurationSec    float64            `json:"duration_s"`
	Key            string             `json:"key"`
	Params         map[string]any     `json:"params"`
	ParamsHash     string             `json:"params_hash"`
	Stages         []StageRecord      `json:"stages"`
	Metrics        map[string]float64 `json:"metrics"`
	Process        Process            `json:"process"`
	Git            *Git               `json:"git"`
	Env            Env                `json:"env"`
	GPU            *GPU               `json:"gpu"`                 // null when the run used no GPU
	Framework      map[string]any     `json:"framework,omitempty"` // the train stage's framework.json
	Reproduces     string             `json:"reproduces,omitempty"`
	Verdict        string             `json:"verdict,omitempty"`
	Warnings       []string           `json:"warnings,omitempty"` // what could not be stamped, and why

	// MetricSources says where each of Metrics was read from.
	MetricSources map[string]MetricSource `json:"metric_sources,omitempty"`
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
	Signal   string    `json:"signal,omitempty"` // the signal that ended the stage's process, if one did
	Output   string    `json:"output,omitempty"`
	Log      string    `json:"log,omitempty"`
	// LogIncomplete says where and why the log was cut short (a write
	// failed: a full disk); "" when it holds all the stage printed.
	LogIncomplete string `json:"log_incomplete,omitempty"`
	// Resources of the stage's process tree (rusage of the waited-for
	// children); zero when the stage was cached.
	MaxRSS  int64   `json:"max_rss_bytes,omitempty"`
	UserSec float64 `json:"user_s,omitempty"`
	SysSec  float64 `json:"sys_s,omitempty"`
}

// Process identifies the magelab process that owns a run, so that a run
// whose finish never came can be told apart from one still going.
type Process struct {
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	PIDStart uint64    `json:"pid_start"` // clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart
	Started  time.Time `json:"started"`
}

// Git is the state of the project's repository when the run started.
type Git struct {
	SHA       string          `json:"sha,omitempty"`
	Branch    string          `json:"branch,omitempty"`
	Remote    string          `json:"remote,omitempty"` // credentials removed
	Dirty     bool            `json:"dirty"`
	Patch     string          `json:"patch,omitempty"` // file in the run dir with the uncommitted changes against HEAD
	Untracked []UntrackedFile `json:"untracked,omitempty"`
	Shallow   bool            `json:"shallow,omitempty"`
	Worktree  bool            `json:"worktree,omitempty"` // a linked worktree
	Tool      string          `json:"tool,omitempty"`     // "git" (the CLI) or "go-git": what read the status
	// PatchIncomplete says why the uncommitted changes are not all in
	// Patch (the diff failed or timed out, or go-git left binary changes
	// out); "" when they are. Such a run's code cannot be restored.
	PatchIncomplete string `json:"patch_incomplete,omitempty"`
	// Redacted lists the saved files (the patch, untracked paths) in which
	// a remote's credentials, or secrets gitleaks found, were replaced by
	// REDACTED.
	Redacted []string `json:"redacted,omitempty"`
	// Withheld lists the untracked files not saved because their names say
	// they hold credentials (.env, .aws/, *.pem, secrets.withhold, ...): a
	// reproduction runs without them.
	Withheld []string `json:"withheld,omitempty"`
}

// UntrackedFile is an untracked, not ignored file; Saved says its content is
// under untracked/ in the run dir (files over the size cap are only listed).
type UntrackedFile struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Saved bool   `json:"saved"`
	Exec  bool   `json:"exec,omitempty"` // it was executable: the saved copy is 0600, a restored one gets its x bits back
}

// Env is what a run was computed with.
type Env struct {
	Python           string            `json:"python"`
	PythonVersion    string            `json:"python_version,omitempty"`
	RequirementsHash string            `json:"requirements_hash"`
	PipFreeze        string            `json:"pip_freeze,omitempty"` // file in the run dir
	OS               string            `json:"os,omitempty"`
	Kernel           string            `json:"kernel,omitempty"`
	CPU              string            `json:"cpu,omitempty"`
	Cores            int               `json:"cores,omitempty"`
	RAMBytes         uint64            `json:"ram_bytes,omitempty"`
	Hostname         string            `json:"hostname,omitempty"`
	Magelab          string            `json:"magelab,omitempty"` // version from the build info
	Vars             map[string]string `json:"vars,omitempty"`    // allow-listed environment variables only
}

// GPU is the GPUs a run used.
type GPU struct {
	Driver    string        `json:"driver,omitempty"`
	CUDA      string        `json:"cuda,omitempty"`
	Devices   []GPUDevice   `json:"devices"`
	Telemetry *GPUTelemetry `json:"telemetry,omitempty"` // summary of runs/<id>/gpu.csv
}

// GPUTelemetry summarises the samples taken while the run's stages ran.
type GPUTelemetry struct {
	IntervalMS    int     `json:"interval_ms"`
	Samples       int     `json:"samples"`
	PeakMemoryMiB float64 `json:"peak_memory_mib"`
	MeanUtilPct   float64 `json:"mean_util_pct"`
	MaxUtilPct    float64 `json:"max_util_pct"`
	MeanPowerW    float64 `json:"mean_power_w"`
	EnergyWh      float64 `json:"energy_wh"`
}

// GPUDevice is one GPU as nvidia-smi reports it.
type GPUDevice struct {
	Index     int    `json:"index"`
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	MemoryMiB int    `json:"memory_mib,omitempty"`
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
