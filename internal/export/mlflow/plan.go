package mlflow

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
)

// target is what one run looks like in MLflow once exported: built from
// magelab's record alone, then compared with what the server holds.
type target struct {
	ID         string // the magelab.run_id tag: a run's id, or sweep:<id> for a sweep's parent run
	Experiment string // the MLflow experiment's name
	Name       string
	Start, End int64 // Unix ms; End is 0 while the run is running
	Status     string
	Params     []kv
	Tags       []kv // without mlflow.parentRunId and the mark: the sync adds them
	Metrics    []metric
	Files      []file
	Parent     string // the magelab.run_id of its sweep's parent run, or ""
	Warnings   []string
}

// Tags magelab sets besides MLflow's own (mlflow.runName,
// mlflow.source.git.*, mlflow.parentRunId).
const (
	TagRunID        = "magelab.run_id"
	TagMark         = "magelab.export"
	TagStatus       = "magelab.status"
	TagDirty        = "magelab.dirty"
	TagSweep        = "magelab.sweep"
	TagVerdict      = "magelab.verdict"
	TagReproduces   = "magelab.reproduces"
	TagReproducedBy = "magelab.reproduced_by"
	TagBest         = "magelab.best_run"
	TagBestMLflow   = "magelab.best_mlflow_run"
	tagParent       = "mlflow.parentRunId"
)

// mlflowStatus is MLflow's name for a magelab status.
func mlflowStatus(s record.Status) string {
	switch s {
	case record.StatusFinished:
		return "FINISHED"
	case record.StatusRunning:
		return "RUNNING"
	case record.StatusInterrupted, "pruned", "preempted":
		return "KILLED"
	}
	return "FAILED" // failed, crashed
}

// runInput is one run and what the export knows around it.
type runInput struct {
	Run      *record.Run
	Raw      []byte // run.json as stored; nil when missing
	Dir      string // runs/<id>
	Verdict  *reproduction
	Sweep    []string // the sweep's parameter keys, for the run's name
	Level    Level
	MaxBytes int64
	Prefix   string
}

// reproduction is the newest reproduction of a run.
type reproduction struct {
	RunID, Verdict string
}

// planRun builds a run's target.
func planRun(in runInput) target {
	r := in.Run
	t := target{ID: r.ID, Experiment: in.Prefix + r.Experiment, Name: runName(r, in.Sweep), Status: mlflowStatus(r.Status)}
	t.Start = r.Started.UnixMilli()
	if r.Status != record.StatusRunning {
		t.End = endOf(r).UnixMilli()
	}
	if r.SweepID != "" {
		t.Parent = sweepRunID(r.SweepID)
	}
	var w []string
	t.Params, w = params(in.Raw, r)
	t.Warnings = append(t.Warnings, w...)
	t.Tags, w = runTags(r, in.Verdict)
	t.Warnings = append(t.Warnings, w...)
	t.Metrics, w = runMetrics(r, in.Dir)
	t.Warnings = append(t.Warnings, w...)
	t.Files, w = runFiles(in.Dir, in.Level, in.MaxBytes)
	t.Warnings = append(t.Warnings, w...)
	return t
}

// runName is the run's name in MLflow: its short id, as listings show it,
// then what tells it apart: a trial's values of the swept params, or the
// run a reproduction reruns.
func runName(r *record.Run, sweepKeys []string) string {
	name := record.ShortID(r.ID)
	flat := record.FlattenParams(r.Params)
	for _, k := range sweepKeys {
		if v, ok := flat[k]; ok {
			name += " " + k + "=" + paramValue(v)
		}
	}
	if r.Reproduces != "" {
		name += " reproduces " + record.ShortID(r.Reproduces)
	}
	return name
}

// endOf is when the run ended: its record's end, else its start and
// duration (a record rebuilt from the ledger).
func endOf(r *record.Run) time.Time {
	if r.Ended != nil {
		return *r.Ended
	}
	return r.Started.Add(time.Duration(r.DurationSec * float64(time.Second)))
}

// runTags are the run's tags, sorted by key.
func runTags(r *record.Run, repro *reproduction) ([]kv, []string) {
	m := map[string]string{TagRunID: r.ID, TagStatus: string(r.Status)}
	if r.ExperimentFile != "" {
		m["mlflow.source.name"] = r.ExperimentFile
	}
	if r.Status != record.StatusRunning && r.Status != record.StatusFinished {
		m["magelab.exit_code"] = strconv.Itoa(r.ExitCode)
	}
	if r.Error != "" {
		m["magelab.error"] = r.Error
	}
	if g := r.Git; g != nil {
		m[TagDirty] = strconv.FormatBool(g.Dirty)
		setNonEmpty(m, "mlflow.source.git.commit", g.SHA)
		setNonEmpty(m, "mlflow.source.git.branch", g.Branch)
		setNonEmpty(m, "mlflow.source.git.repoURL", stamp.RedactURL(g.Remote))
		setNonEmpty(m, "magelab.patch_incomplete", g.PatchIncomplete)
		if len(g.Untracked) > 0 {
			m["magelab.untracked_files"] = strconv.Itoa(len(g.Untracked))
		}
	}
	setNonEmpty(m, TagSweep, r.SweepID)
	setNonEmpty(m, TagReproduces, r.Reproduces)
	setNonEmpty(m, TagVerdict, r.Verdict)
	if repro != nil && r.Verdict == "" {
		m[TagVerdict], m[TagReproducedBy] = repro.Verdict, repro.RunID
	}
	setNonEmpty(m, "magelab.host", r.Process.Host)
	if g := r.GPU; g != nil && len(g.Devices) > 0 {
		m["magelab.gpu"] = fmt.Sprintf("%dx %s", len(g.Devices), g.Devices[0].Name)
	}
	return tagList(m)
}

func setNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// tagList is m as MLflow tags, sorted, values over MLflow's limit
// truncated.
func tagList(m map[string]string) ([]kv, []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []kv
	var warnings []string
	for _, k := range keys {
		v, w := truncated("tag", k, m[k], maxTagLen)
		if w != "" {
			warnings = append(warnings, w)
		}
		out = append(out, kv{Key: k, Value: v})
	}
	return out, warnings
}

// runMetrics is the run's metric history: every step of out/metrics.jsonl
// (spread over the train stage's time), the GPU samples of gpu.csv, and
// the final metrics. A final metric is logged at the end of the stage that
// wrote it (eval's, for the keys of eval/metrics.json), at the last step
// of its history when it has one, so that MLflow shows it as the latest
// value; when it equals that last step's value it is already there.
func runMetrics(r *record.Run, dir string) ([]metric, []string) {
	var warnings []string
	trainStart, trainEnd := r.Started, endOf(r)
	if s, i := r.Stage("train"); i >= 0 && !s.Started.IsZero() && !s.Ended.IsZero() {
		trainStart, trainEnd = s.Started, s.Ended
	}
	lines, skipped, err := readSteps(filepath.Join(dir, "out", "metrics.jsonl"))
	if err != nil {
		warnings = append(warnings, err.Error())
	}
	if skipped > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: %d line(s) without an integer step or not JSON left out", filepath.Join(dir, "out", "metrics.jsonl"), skipped))
	}
	points := stepPoints(lines, trainStart.UnixMilli(), trainEnd.UnixMilli())
	gpuRows, err := gpuPoints(filepath.Join(dir, "gpu.csv"))
	if err != nil {
		warnings = append(warnings, err.Error())
	}
	last := map[string]metric{}
	for _, p := range points {
		last[p.Key] = p
	}
	evalKeys, evalEnd := evalMetricKeys(r, dir)
	keys := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var finals []metric
	for _, k := range keys {
		v := r.Metrics[k]
		if why := badKey(k); why != "" {
			warnings = append(warnings, fmt.Sprintf("metric %q left out: %s", k, why))
			continue
		}
		at := trainEnd.UnixMilli()
		if evalKeys[k] {
			at = evalEnd.UnixMilli()
		}
		m := metric{Key: k, Value: flexFloat(v), Timestamp: flexInt(at)}
		if l, ok := last[k]; ok {
			if float64(l.Value) == v {
				continue
			}
			m.Step, m.Timestamp = l.Step, flexInt(max(at, int64(l.Timestamp)+1))
		}
		finals = append(finals, m)
	}
	out := append(points, gpuRows...)
	return append(out, finals...), warnings
}

// evalMetricKeys are the names of the metrics the run's eval stage wrote,
// and when that stage ended.
func evalMetricKeys(r *record.Run, dir string) (map[string]bool, time.Time) {
	s, i := r.Stage("eval")
	if i < 0 || s.Ended.IsZero() {
		return nil, time.Time{}
	}
	b, err := os.ReadFile(filepath.Join(dir, "eval", "metrics.json"))
	if err != nil {
		return nil, time.Time{}
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil, time.Time{}
	}
	keys := map[string]bool{}
	for k := range m {
		keys[k] = true
	}
	return keys, s.Ended
}

// sweepRunID is the magelab.run_id tag of a sweep's parent run.
func sweepRunID(sweepID string) string { return "sweep:" + sweepID }

// isSweepRunID reports whether a magelab.run_id tag names a sweep's parent.
func isSweepRunID(id string) bool { return strings.HasPrefix(id, "sweep:") }
