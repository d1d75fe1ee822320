package e2e

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/export/mlflow/mlflowtest"
)

// TestExportToMLflow is the targets' side of the MLflow export, against a
// real `mlflow server` started here (the export itself is tested in
// internal/export/mlflow): an experiment with export: {mlflow: auto}
// exports the run train records, and a sweep's trials and parent run as
// the sweep runs; runs:export then finds nothing to send. Without a
// server, or with bad flags, the errors say what to do.
func TestExportToMLflow(t *testing.T) {
	p := newProject(t)
	p.write("python/ex/train.py", "import sys\nprint(f'score={sys.argv[1]}')\n")
	p.write("experiments/ex.yaml", "name: ex\nrequirements: [python/requirements.txt]\nstages:\n  train: {cmd: \"python python/ex/train.py ${train.x}\"}\n"+
		"train: {x: 1}\nsweep:\n  parameters:\n    train.x: [1, 2, 3]\n  metric: score\n  goal: maximize\nexport: {mlflow: auto}\n")
	gitCommit(t, p.dir)

	t.Run("AutoWithoutAServerSaysSo", func(t *testing.T) {
		p.env = []string{"MLFLOW_TRACKING_URI="}
		r := p.mustMage("train", "-exp=ex", "-set=train.x=0")
		mustContain(t, r.out, "note: ex.yaml asks for export: {mlflow: auto}, but MLFLOW_TRACKING_URI is not set: nothing is exported")
	})
	t.Run("BadFlags", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		down := "http://" + l.Addr().String()
		l.Close()
		for args, want := range map[string]string{
			"-to=wandb":                      "-to=wandb: runs:export knows -to=mlflow",
			"-to=mlflow -artifacts=models":   "-artifacts=models: want none, meta",
			"-to=mlflow":                     "no MLflow tracking server: pass -uri=http://host:5000 or set MLFLOW_TRACKING_URI",
			"-to=mlflow -uri=sqlite:///m.db": "is a local store, not a tracking server",
			"-to=mlflow -uri=" + down:        "MLflow tracking server " + down + " is unreachable: connection refused",
		} {
			r := p.mage(append([]string{"runs:export"}, splitArgs(args)...)...)
			assert.NotZero(t, r.code, args)
			assert.Contains(t, r.out, want, args)
		}
	})

	srv, err := mlflowtest.Start(context.Background(), mlflowtest.Options{Root: repoRoot, Dir: t.TempDir(), Out: &testWriter{t}})
	require.NoError(t, err)
	defer srv.Stop()
	p.env = []string{"MLFLOW_TRACKING_URI=" + srv.URL}

	t.Run("TrainExportsItsRun", func(t *testing.T) {
		r := p.mustMage("train", "-exp=ex")
		mustContain(t, r.out, "mlflow: created MLflow experiment \"ex\"", ": 1 created, 0 updated")
	})
	t.Run("SweepExportsTrialsAndParent", func(t *testing.T) {
		r := p.mustMage("sweep", "-exp=ex")
		mustContain(t, r.out, " train.x=3 (ex, finished): http://", " sweep ", "(1 sweep parent run(s) among them)")
	})
	t.Run("RunsExportSendsNothingMore", func(t *testing.T) {
		r := p.mustMage("runs:export", "-to=mlflow")
		mustContain(t, r.out, ": 1 created, 0 updated, 5 up to date (1 sweep parent run(s) among them); ") // the run trained with no server set
	})
	var d map[string]*struct {
		Runs []struct {
			Tags map[string]string `json:"tags"`
		} `json:"runs"`
	}
	require.NoError(t, srv.Client(context.Background(), &d, "dump", "ex"))
	require.NotNil(t, d["ex"])
	ids := map[string]bool{}
	for _, r := range d["ex"].Runs {
		ids[r.Tags["magelab.run_id"]] = true
	}
	assert.Len(t, ids, 6, "the first train (exported by runs:export), the second, three trials and the sweep")
	assert.Len(t, d["ex"].Runs, 6, "each once")
}

// splitArgs splits flags on spaces (none of these has a space in it).
func splitArgs(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// testWriter sends a venv build's output to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
