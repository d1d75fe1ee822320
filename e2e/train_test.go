package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultExperiment walks the path a new user walks, in order: list the
// targets, train on a fresh copy (building .venv), train again (up to date),
// change a param, force, change the script, eval, clean.
func TestDefaultExperiment(t *testing.T) {
	p := newProject(t)
	p.venv = "" // the project's own .venv, built by the train target

	t.Run("ListTargets", func(t *testing.T) {
		r := p.run("go", "tool", "mage", "-l")
		require.Equal(t, 0, r.code, "mage -l: %d\n%s", r.code, r.out)
		for _, target := range []string{"setup", "setupData", "preprocess", "train", "eval", "clean"} {
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+target+`\s+\S`), r.out, "mage -l lacks %s with its help:\n%s", target, r.out)
		}
	})

	var first *record.Run
	t.Run("FreshTrain", func(t *testing.T) {
		r := p.run("go", "tool", "mage", "train")
		require.Equal(t, 0, r.code, "train: %d\n%s", r.code, r.out)
		mustContain(t, r.out, "setup: building", "[setup-data] ", "[preprocess] ", "[train] ", "metrics: ")
		_, err := os.Stat(filepath.Join(p.dir, ".venv", "bin", "python"))
		require.NoError(t, err, ".venv not created: %v", err)
		first = p.onlyNewRun()
		require.Equal(t, record.StatusFinished, first.Status, "run %s: %s exit %d", first.ID, first.Status, first.ExitCode)
		require.Equal(t, 0, first.ExitCode, "run %s: %s exit %d", first.ID, first.Status, first.ExitCode)
		assert.GreaterOrEqual(t, first.Metrics["val_accuracy"], 0.95, "val_accuracy %.4f < 0.95", first.Metrics["val_accuracy"])
		mustContain(t, r.out, first.ID, "val_accuracy=")
		for _, f := range []string{"params.yaml", "run.json", "logs/setup-data.log", "logs/preprocess.log", "logs/train.log",
			"out/model.pt", "out/metrics.json", "out/metrics.jsonl"} {
			_, err := os.Stat(filepath.Join(p.dir, "runs", first.ID, f))
			assert.NoError(t, err, "run dir lacks %s", f)
		}
		n := strings.Count(p.read("runs/"+first.ID+"/out/metrics.jsonl"), "\n")
		assert.Equal(t, 30, n, "metrics.jsonl has %d lines, want one per epoch (30)", n)
		mustContain(t, p.read("runs/"+first.ID+"/params.yaml"), "epochs: 30", "seed: 42")
		got := stageNames(first)
		assert.Equal(t, "setup-data preprocess train", got, "stages %q", got)
	})
	require.NotNil(t, first, "FreshTrain recorded no run")

	t.Run("UpToDate", func(t *testing.T) {
		r := p.mustMage("train")
		mustContain(t, r.out, "up to date", first.ID, "val_accuracy=")
		require.NotContains(t, r.out, "[train]", "an up-to-date train ran the stage:\n%s", r.out)
		p.noNewRun()
	})

	t.Run("SetRetrainsOnlyTrain", func(t *testing.T) {
		r := p.mustMage("train", `-set=train.epochs=3`)
		mustContain(t, r.out, "setup-data: up to date", "preprocess: up to date", "[train] ")
		run := p.onlyNewRun()
		require.Equal(t, 3.0, run.Params["train"].(map[string]any)["epochs"], "params %v key %s", run.Params["train"], run.Key)
		require.NotEqual(t, first.Key, run.Key, "params %v key %s", run.Params["train"], run.Key)
		n := strings.Count(p.read("runs/"+run.ID+"/out/metrics.jsonl"), "\n")
		assert.Equal(t, 3, n, "metrics.jsonl has %d lines, want 3", n)
		assert.True(t, run.Stages[0].Cached, "cached flags: %+v", run.Stages)
		assert.True(t, run.Stages[1].Cached, "cached flags: %+v", run.Stages)
		assert.False(t, run.Stages[2].Cached, "cached flags: %+v", run.Stages)
		// The same override again is up to date too.
		mustContain(t, p.mustMage("train", `-set=train.epochs=3`).out, "up to date", run.ID)
	})

	t.Run("ForceRetrains", func(t *testing.T) {
		p.mustMage("train", "-force")
		run := p.onlyNewRun()
		require.Equal(t, first.Key, run.Key, "forced run has key %s, want %s", run.Key, first.Key)
		// Training on CPU is deterministic: same seed, same metrics.
		assert.Equal(t, first.Metrics["val_accuracy"], run.Metrics["val_accuracy"], "val_accuracy %v != %v", run.Metrics["val_accuracy"], first.Metrics["val_accuracy"])
	})

	t.Run("ScriptChangeRetrainsOnlyTrain", func(t *testing.T) {
		p.appendTo("python/digits/train.py", "\n# a comment changes the script's hash\n")
		r := p.mustMage("train")
		mustContain(t, r.out, "preprocess: up to date", "[train] ")
		p.onlyNewRun()
	})

	t.Run("ImportedModuleChangeRetrains", func(t *testing.T) {
		p.appendTo("python/digits/model.py", "\n# changes a module train.py imports\n")
		mustContain(t, p.mustMage("train").out, "[train] ")
		p.onlyNewRun()
	})

	var newest *record.Run
	t.Run("Eval", func(t *testing.T) {
		newest = p.newestRun()
		r := p.mustMage("eval")
		mustContain(t, r.out, "[eval] ", newest.ID, "test_accuracy=")
		run := p.readRun(newest.ID)
		require.GreaterOrEqual(t, run.Metrics["test_accuracy"], 0.9, "metrics after eval: %v", run.Metrics)
		require.NotZero(t, run.Metrics["val_accuracy"], "metrics after eval: %v", run.Metrics)
		_, i := run.Stage("eval")
		require.GreaterOrEqual(t, i, 0, "no eval stage recorded")
		cm := p.read("runs/" + newest.ID + "/eval/confusion_matrix.json")
		require.Contains(t, cm, "[", "confusion matrix: %s", cm)
		mustContain(t, p.read("runs/ledger.jsonl"), `"type":"run.evaluated","time"`)
		mustContain(t, p.mustMage("eval").out, "eval: up to date")
	})

	t.Run("EvalPicksRun", func(t *testing.T) {
		short := first.ID[len(first.ID)-8:]
		r := p.mustMage("eval", "-run="+short)
		mustContain(t, r.out, first.ID)
		require.NotZero(t, p.readRun(first.ID).Metrics["test_accuracy"], "eval -run did not add metrics to that run")
		bad := p.mage("eval", "-run=zzzzzz")
		require.NotEqual(t, 0, bad.code, "unknown run: %d\n%s", bad.code, bad.out)
		require.Contains(t, bad.out, `no run matches "zzzzzz"`, "unknown run: %d\n%s", bad.code, bad.out)
	})

	t.Run("RequirementsChangeRetrainsAll", func(t *testing.T) {
		p.appendTo("python/requirements.txt", "# pinned as before\n")
		r := p.mustMage("train")
		mustContain(t, r.out, "setup: building", "[setup-data] ", "[preprocess] ", "[train] ")
		p.onlyNewRun()
	})

	t.Run("Clean", func(t *testing.T) {
		runs := p.runIDs()
		mustContain(t, p.mustMage("clean").out, "removed .magelab")
		_, err := os.Stat(filepath.Join(p.dir, ".magelab"))
		require.ErrorIs(t, err, fs.ErrNotExist, ".magelab survived clean")
		got := p.runIDs()
		require.Len(t, got, len(runs), "clean removed runs: %d → %d", len(runs), len(got))
		p.mustMage("clean", "-all")
		_, err = os.Stat(filepath.Join(p.dir, "runs"))
		require.ErrorIs(t, err, fs.ErrNotExist, "clean -all kept runs/")
	})
}

func stageNames(r *record.Run) string {
	var names []string
	for _, s := range r.Stages {
		names = append(names, s.Name)
	}
	return strings.Join(names, " ")
}

// runIDs lists the run directories, oldest first.
func (p *project) runIDs() []string {
	entries, _ := os.ReadDir(filepath.Join(p.dir, "runs"))
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") { // .pending, .import-*: magelab's own
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids
}

func (p *project) readRun(id string) *record.Run {
	p.t.Helper()
	var r record.Run
	require.NoError(p.t, json.Unmarshal([]byte(p.read("runs/"+id+"/run.json")), &r))
	return &r
}

func (p *project) newestRun() *record.Run {
	p.t.Helper()
	ids := p.runIDs()
	require.NotEmpty(p.t, ids, "no runs")
	return p.readRun(ids[len(ids)-1])
}

// onlyNewRun asserts exactly one run appeared since the last check.
func (p *project) onlyNewRun() *record.Run {
	p.t.Helper()
	ids := p.runIDs()
	seen := p.seenRuns()
	var fresh []string
	for _, id := range ids {
		if !seen[id] {
			fresh = append(fresh, id)
		}
	}
	p.markSeen(ids)
	require.Len(p.t, fresh, 1, "%d new runs, want 1: %v", len(fresh), fresh)
	return p.readRun(fresh[0])
}

func (p *project) noNewRun() {
	p.t.Helper()
	seen := p.seenRuns()
	for _, id := range p.runIDs() {
		require.True(p.t, seen[id], "a new run %s appeared", id)
	}
}

func (p *project) seenRuns() map[string]bool {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	return p.seen
}

func (p *project) markSeen(ids []string) {
	for _, id := range ids {
		p.seenRuns()[id] = true
	}
}

// TestDefaultExperimentWithPip trains the default experiment on a fresh copy
// whose .venv is built by python3 -m venv + pip, the path of machines
// without uv.
func TestDefaultExperimentWithPip(t *testing.T) {
	p := newProject(t)
	p.venv = ""
	p.env = []string{"MAGELAB_INSTALLER=pip"}
	r := p.mustMage("train")
	mustContain(t, r.out, "with pip", "[train] ")
	_, err := os.Stat(filepath.Join(p.dir, ".venv", "bin", "pip"))
	require.NoError(t, err, "not a pip-built venv: %v", err)
	run := p.onlyNewRun()
	require.Equal(t, record.StatusFinished, run.Status, "run %s val_accuracy %v", run.Status, run.Metrics["val_accuracy"])
	require.GreaterOrEqual(t, run.Metrics["val_accuracy"], 0.95, "run %s val_accuracy %v", run.Status, run.Metrics["val_accuracy"])
	mustContain(t, p.mustMage("train").out, "up to date", run.ID)
}
