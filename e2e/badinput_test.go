package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/require"
)

// TestBadInput: each mistake gets a message that names what is wrong, and
// nothing half-done is left marked as done.
func TestBadInput(t *testing.T) {
	p := newProject(t)
	simple := func(name, stages string) {
		p.write("experiments/"+name+".yaml", "name: "+name+"\nrequirements: [python/requirements.txt]\nstages:\n"+stages+"train: {lr: 0.1}\n")
	}
	cases := []struct {
		name  string
		setup func()
		args  []string
		want  []string
	}{
		{"MissingExperiment", func() {}, []string{"train", "-exp=nosuch"}, []string{"nosuch", "default"}},
		{"SyntaxError", func() { p.write("experiments/syntax.yaml", "name: x\ntrain: {lr: 0.1\n") }, []string{"train", "-exp=syntax"}, []string{"syntax.yaml:", "YAML"}},
		{"UnknownKey", func() { p.write("experiments/typo.yaml", "name: x\ntrian: {lr: 0.1}\n") }, []string{"train", "-exp=typo"}, []string{"typo.yaml:2:1", `"trian"`, `"train"`}},
		{"WrongType", func() { p.write("experiments/wrongtype.yaml", "name: x\nseed: abc\n") }, []string{"train", "-exp=wrongtype"}, []string{"wrongtype.yaml:2", "seed"}},
		{"UnknownSetKey", func() {}, []string{"train", "-set=train.lrr=0.1"}, []string{`"train.lrr"`, `"train.lr"`}},
		{"MissingScript", func() { simple("noscript", "  train: python/nope.py\n") }, []string{"train", "-exp=noscript"}, []string{"noscript.yaml:4", "python/nope.py"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			r := p.mage(tc.args...)
			require.Equal(t, 1, r.code, "exit %d, want 1:\n%s", r.code, r.out)
			mustContain(t, r.out, tc.want...)
			p.noNewRun()
		})
	}

	t.Run("StageExitsNonZero", func(t *testing.T) {
		p.write("python/fail/train.py", "import sys\nprint('loading'); print('bad things', file=sys.stderr)\nsys.exit(3)\n")
		p.write("python/fail/eval.py", "raise SystemExit('must not run')\n")
		simple("fail", "  setup-data: python/fail/train.py\n  train: python/examples/plain_train.py\n")
		r := p.mage("train", "-exp=fail")
		require.Equal(t, 1, r.code, "exit %d:\n%s", r.code, r.out)
		mustContain(t, r.out, "stage setup-data failed with exit status 3", "bad things", "recorded as failed")
		run := p.onlyNewRun()
		require.Equal(t, record.StatusFailed, run.Status, "run: %s exit %d stages %+v", run.Status, run.ExitCode, run.Stages)
		require.Equal(t, 3, run.ExitCode, "run: %s exit %d stages %+v", run.Status, run.ExitCode, run.Stages)
		require.Len(t, run.Stages, 1, "run: %s exit %d stages %+v", run.Status, run.ExitCode, run.Stages)
		mustContain(t, p.read("runs/"+run.ID+"/logs/setup-data.log"), "bad things")
		mustContain(t, p.read("runs/ledger.jsonl"), `"status":"failed","exit_code":3`)
		// Nothing was cached for the failed stage: the next run runs it again.
		r = p.mage("train", "-exp=fail")
		mustContain(t, r.out, "[setup-data] loading")
		p.onlyNewRun()
	})

	t.Run("MalformedMetrics", func(t *testing.T) {
		p.write("python/badmetrics/train.py", `import argparse, os
ap = argparse.ArgumentParser(); ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in")
a = ap.parse_args()
open(os.path.join(a.out, "metrics.json"), "w").write('{"acc": "high"}')
`)
		simple("badmetrics", "  train: python/badmetrics/train.py\n")
		r := p.mage("train", "-exp=badmetrics")
		mustContain(t, r.out, "metrics.json", `metric "acc" is high`)
		run := p.onlyNewRun()
		require.Equal(t, record.StatusFailed, run.Status, "status %s", run.Status)
	})

	t.Run("RequirementCannotBeInstalled", func(t *testing.T) {
		p.write("python/requirements-bad.txt", "magelab-there-is-no-such-package-xyz==9.9.9\n")
		p.write("experiments/badreq.yaml", "name: badreq\nrequirements: [python/requirements-bad.txt]\nstages:\n  train: python/examples/plain_train.py\n")
		old := p.venv
		p.venv = filepath.Join(t.TempDir(), "venv")
		defer func() { p.venv = old }()
		r := p.mage("train", "-exp=badreq")
		require.NotEqual(t, 0, r.code, "exit 0:\n%s", r.out)
		mustContain(t, r.out, "install requirements python/requirements-bad.txt", "not marked ready")
		_, err := os.Stat(filepath.Join(p.venv, ".magelab-requirements.json"))
		require.ErrorIs(t, err, fs.ErrNotExist, "a failed install left the venv marked ready")
		p.noNewRun()
	})

	t.Run("PythonMissing", func(t *testing.T) {
		old := p.venv
		p.venv = filepath.Join(t.TempDir(), "venv")
		p.env = []string{"MAGELAB_PYTHON=/nonexistent/python3"}
		defer func() { p.venv, p.env = old, nil }()
		r := p.mage("train")
		require.NotEqual(t, 0, r.code, "exit %d:\n%s", r.code, r.out)
		require.Contains(t, r.out, `"/nonexistent/python3" not found`, "exit %d:\n%s", r.code, r.out)
	})
}
