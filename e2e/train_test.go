package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record"
)

// TestDefaultExperiment walks the path a new user walks, in order: list the
// targets, train on a fresh copy (building .venv), train again (up to date),
// change a param, force, change the script, eval, clean.
func TestDefaultExperiment(t *testing.T) {
	p := newProject(t)
	p.venv = "" // the project's own .venv, built by the train target

	t.Run("ListTargets", func(t *testing.T) {
		r := p.run("go", "tool", "mage", "-l")
		if r.code != 0 {
			t.Fatalf("mage -l: %d\n%s", r.code, r.out)
		}
		for _, target := range []string{"setup", "setupData", "preprocess", "train", "eval", "clean"} {
			if !regexp.MustCompile(`(?m)^\s+` + target + `\s+\S`).MatchString(r.out) {
				t.Errorf("mage -l lacks %s with its help:\n%s", target, r.out)
			}
		}
	})

	var first *record.Run
	t.Run("FreshTrain", func(t *testing.T) {
		r := p.run("go", "tool", "mage", "train")
		if r.code != 0 {
			t.Fatalf("train: %d\n%s", r.code, r.out)
		}
		mustContain(t, r.out, "setup: building", "[setup-data] ", "[preprocess] ", "[train] ", "metrics: ")
		if _, err := os.Stat(filepath.Join(p.dir, ".venv", "bin", "python")); err != nil {
			t.Fatalf(".venv not created: %v", err)
		}
		first = p.onlyNewRun()
		if first.Status != record.StatusFinished || first.ExitCode != 0 {
			t.Fatalf("run %s: %s exit %d", first.ID, first.Status, first.ExitCode)
		}
		if first.Metrics["val_accuracy"] < 0.95 {
			t.Errorf("val_accuracy %.4f < 0.95", first.Metrics["val_accuracy"])
		}
		mustContain(t, r.out, first.ID, "val_accuracy=")
		for _, f := range []string{"params.yaml", "run.json", "logs/setup-data.log", "logs/preprocess.log", "logs/train.log",
			"out/model.pt", "out/metrics.json", "out/metrics.jsonl"} {
			if _, err := os.Stat(filepath.Join(p.dir, "runs", first.ID, f)); err != nil {
				t.Errorf("run dir lacks %s", f)
			}
		}
		if n := strings.Count(p.read("runs/"+first.ID+"/out/metrics.jsonl"), "\n"); n != 30 {
			t.Errorf("metrics.jsonl has %d lines, want one per epoch (30)", n)
		}
		mustContain(t, p.read("runs/"+first.ID+"/params.yaml"), "epochs: 30", "seed: 42")
		if got := stageNames(first); got != "setup-data preprocess train" {
			t.Errorf("stages %q", got)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("UpToDate", func(t *testing.T) {
		r := p.mustMage("train")
		mustContain(t, r.out, "up to date", first.ID, "val_accuracy=")
		if strings.Contains(r.out, "[train]") {
			t.Fatalf("an up-to-date train ran the stage:\n%s", r.out)
		}
		p.noNewRun()
	})

	t.Run("SetRetrainsOnlyTrain", func(t *testing.T) {
		r := p.mustMage("train", `-set=train.epochs=3`)
		mustContain(t, r.out, "setup-data: up to date", "preprocess: up to date", "[train] ")
		run := p.onlyNewRun()
		if run.Params["train"].(map[string]any)["epochs"] != 3.0 || run.Key == first.Key {
			t.Fatalf("params %v key %s", run.Params["train"], run.Key)
		}
		if n := strings.Count(p.read("runs/"+run.ID+"/out/metrics.jsonl"), "\n"); n != 3 {
			t.Errorf("metrics.jsonl has %d lines, want 3", n)
		}
		if !run.Stages[0].Cached || !run.Stages[1].Cached || run.Stages[2].Cached {
			t.Errorf("cached flags: %+v", run.Stages)
		}
		// The same override again is up to date too.
		mustContain(t, p.mustMage("train", `-set=train.epochs=3`).out, "up to date", run.ID)
	})

	t.Run("ForceRetrains", func(t *testing.T) {
		p.mustMage("train", "-force")
		run := p.onlyNewRun()
		if run.Key != first.Key {
			t.Fatalf("forced run has key %s, want %s", run.Key, first.Key)
		}
		// Training on CPU is deterministic: same seed, same metrics.
		if run.Metrics["val_accuracy"] != first.Metrics["val_accuracy"] {
			t.Errorf("val_accuracy %v != %v", run.Metrics["val_accuracy"], first.Metrics["val_accuracy"])
		}
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
		if run.Metrics["test_accuracy"] < 0.9 || run.Metrics["val_accuracy"] == 0 {
			t.Fatalf("metrics after eval: %v", run.Metrics)
		}
		if _, i := run.Stage("eval"); i < 0 {
			t.Fatal("no eval stage recorded")
		}
		cm := p.read("runs/" + newest.ID + "/eval/confusion_matrix.json")
		if !strings.Contains(cm, "[") {
			t.Fatalf("confusion matrix: %s", cm)
		}
		mustContain(t, p.read("runs/ledger.jsonl"), `"type":"run.evaluated","time"`)
		mustContain(t, p.mustMage("eval").out, "eval: up to date")
	})

	t.Run("EvalPicksRun", func(t *testing.T) {
		short := first.ID[len(first.ID)-8:]
		r := p.mustMage("eval", "-run="+short)
		mustContain(t, r.out, first.ID)
		if p.readRun(first.ID).Metrics["test_accuracy"] == 0 {
			t.Fatal("eval -run did not add metrics to that run")
		}
		bad := p.mage("eval", "-run=zzzzzz")
		if bad.code == 0 || !strings.Contains(bad.out, `no run matches "zzzzzz"`) {
			t.Fatalf("unknown run: %d\n%s", bad.code, bad.out)
		}
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
		if _, err := os.Stat(filepath.Join(p.dir, ".magelab")); !os.IsNotExist(err) {
			t.Fatal(".magelab survived clean")
		}
		if got := p.runIDs(); len(got) != len(runs) {
			t.Fatalf("clean removed runs: %d → %d", len(runs), len(got))
		}
		p.mustMage("clean", "-all")
		if _, err := os.Stat(filepath.Join(p.dir, "runs")); !os.IsNotExist(err) {
			t.Fatal("clean -all kept runs/")
		}
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
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids
}

func (p *project) readRun(id string) *record.Run {
	p.t.Helper()
	var r record.Run
	if err := json.Unmarshal([]byte(p.read("runs/"+id+"/run.json")), &r); err != nil {
		p.t.Fatal(err)
	}
	return &r
}

func (p *project) newestRun() *record.Run {
	p.t.Helper()
	ids := p.runIDs()
	if len(ids) == 0 {
		p.t.Fatal("no runs")
	}
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
	if len(fresh) != 1 {
		p.t.Fatalf("%d new runs, want 1: %v", len(fresh), fresh)
	}
	return p.readRun(fresh[0])
}

func (p *project) noNewRun() {
	p.t.Helper()
	seen := p.seenRuns()
	for _, id := range p.runIDs() {
		if !seen[id] {
			p.t.Fatalf("a new run %s appeared", id)
		}
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
	if _, err := os.Stat(filepath.Join(p.dir, ".venv", "bin", "pip")); err != nil {
		t.Fatalf("not a pip-built venv: %v", err)
	}
	run := p.onlyNewRun()
	if run.Status != record.StatusFinished || run.Metrics["val_accuracy"] < 0.95 {
		t.Fatalf("run %s val_accuracy %v", run.Status, run.Metrics["val_accuracy"])
	}
	mustContain(t, p.mustMage("train").out, "up to date", run.ID)
}
