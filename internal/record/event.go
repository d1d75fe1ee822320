package record

import (
	"strings"
	"time"
)

// Event types written to the ledger.
const (
	EventRunStarted   = "run.started"
	EventRunFinished  = "run.finished"
	EventRunEvaluated = "run.evaluated"

	// A sweep's own events have no run: "run" is empty and "sweep" names it.
	EventSweepStarted  = "sweep.started"
	EventSweepFinished = "sweep.finished"
)

// Event is one line of runs/ledger.jsonl. Each event carries enough to list
// and query runs without opening their run.json files: run.started holds
// what the run was made from (params, git, host), run.finished how it ended
// and its metrics, run.evaluated the metrics an eval added. A run's started
// event is always its first, so a reader going backwards from the end of the
// ledger knows a run is complete when it meets run.started.
//
// A reproduction (`reproduce`) is a run like any other whose run.started
// names the run it reruns (Reproduces) and whose run.finished carries the
// verdict of the metric comparison: reproduced or drifted.
//
// Run is the first field so that a scanner finds the id at a fixed offset.
type Event struct {
	Run        string             `json:"run"`
	Type       string             `json:"type"`
	Time       time.Time          `json:"time"`
	Experiment string             `json:"experiment,omitempty"`
	SweepID    string             `json:"sweep,omitempty"`
	Key        string             `json:"key,omitempty"`
	Params     map[string]any     `json:"params,omitempty"` // flattened: "train.lr" → 0.01
	Git        *GitBrief          `json:"git,omitempty"`
	GPU        string             `json:"gpu,omitempty"` // e.g. "1x NVIDIA H200"
	Host       string             `json:"host,omitempty"`
	PID        int                `json:"pid,omitempty"`
	PIDStart   uint64             `json:"pid_start,omitempty"` // process start time, clock ticks since boot (/proc/PID/stat)
	Slurm      string             `json:"slurm,omitempty"`     // the Slurm job that ran it: "4242_3" (array job, task) or "4242"
	Reproduces string             `json:"reproduces,omitempty"`
	Status     Status             `json:"status,omitempty"`
	ExitCode   *int               `json:"exit_code,omitempty"`
	Duration   float64            `json:"duration_s,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Verdict    string             `json:"verdict,omitempty"`
	PrunedStep *int               `json:"pruned_step,omitempty"` // run.finished of a pruned trial
	Error      string             `json:"error,omitempty"`       // run.finished: why the run failed, as run.json's error says

	// Sweep events: the sweep's spec as resolved (sweep.started), its
	// trials' run ids in trial order and the best of them (sweep.finished).
	Spec   map[string]any `json:"spec,omitempty"`
	Trials []string       `json:"trials,omitempty"`
	Best   string         `json:"best,omitempty"`
}

// MaxEventLine is the longest ledger line magelab writes, and the longest
// it reads: longer ones are skipped with a warning. Real lines are a few
// KiB (a run.started with hundreds of params, a sweep.started with long
// value lists stay under 100 KiB); 1 MiB leaves a wide margin and bounds
// what one line costs a reader, whatever a file holds.
const MaxEventLine = 1 << 20

// IsSweep reports whether ev is one of a sweep's own events.
func (ev Event) IsSweep() bool {
	return ev.Run == "" && ev.SweepID != "" && strings.HasPrefix(ev.Type, "sweep.")
}

// GitBrief is the part of a run's git stamp that listings show.
type GitBrief struct {
	SHA    string `json:"sha"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
}

// SweepMetric is the metric the sweep of a sweep.started event ranks its
// trials by, as its recorded spec says; "" when it names none.
func (ev Event) SweepMetric() string {
	m, _ := ev.Spec["metric"].(string)
	return m
}
