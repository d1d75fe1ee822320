package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunsTargets lists, filters, shows and compares recorded runs, and
// merges the ledger of another machine's project with runs:import.
func TestRunsTargets(t *testing.T) {
	p := newProject(t)
	p.write("python/quick/train.py", "import sys\nlr = float(sys.argv[1])\nprint(f'accuracy={0.5 + lr:.4f}')\n")
	p.write("experiments/quick.yaml", `name: quick
requirements: [python/requirements.txt]
stages:
  train: {cmd: "python python/quick/train.py ${train.lr}"}
train: {lr: 0.1, note: same}
`)
	for _, lr := range []string{"0.1", "0.2", "0.3"} {
		p.mustMage("train", "-exp=quick", "-set=train.lr="+lr)
	}
	ids := p.runIDs()
	require.Len(t, ids, 3, "%d runs", len(ids))

	t.Run("Table", func(t *testing.T) {
		out := p.mustMage("runs").out
		for _, id := range ids {
			mustContain(t, out, id[len(id)-8:])
		}
		// Only the param that differs gets a column.
		mustContain(t, out, "train.lr", "accuracy")
		assert.NotContains(t, out, "train.note", "a param equal across runs is shown:\n%s", out)
	})
	t.Run("WhereSortJSON", func(t *testing.T) {
		out := p.mustMage("runs", "-where=accuracy>0.65 status=finished", "-sort=-accuracy", "-format=json").out
		var rows []map[string]any
		err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &rows)
		require.NoError(t, err, "json: %v\n%s", err, out)
		require.Len(t, rows, 2, "want the runs with lr 0.2 and 0.3, got %d:\n%s", len(rows), out)
		mustContain(t, out, ids[2], ids[1])
		assert.LessOrEqual(t, strings.Index(out, ids[2]), strings.Index(out, ids[1]), "not sorted by accuracy, descending:\n%s", out)
	})
	t.Run("BadWhere", func(t *testing.T) {
		r := p.mage("runs", "-where=accuracy=>1")
		require.NotEqual(t, 0, r.code, "exit %d:\n%s", r.code, r.out)
		require.Contains(t, r.out, "accuracy=>1", "exit %d:\n%s", r.code, r.out)
	})
	t.Run("ShowAndCompare", func(t *testing.T) {
		mustContain(t, p.mustMage("runs:show", ids[0][len(ids[0])-8:]).out, ids[0], "train.lr", "accuracy")
		out := p.mustMage("runs:compare", ids[0]+" "+ids[2][len(ids[2])-8:]).out
		mustContain(t, out, "0.1", "0.3", "accuracy")
	})
	t.Run("Import", func(t *testing.T) {
		other := newProject(t)
		other.write("python/quick/train.py", p.read("python/quick/train.py"))
		other.write("experiments/quick.yaml", p.read("experiments/quick.yaml"))
		other.mustMage("train", "-exp=quick", "-set=train.lr=0.4")
		src := filepath.Join(other.dir, "runs")
		mustContain(t, p.mustMage("runs:import", src).out, "added 1 run(s)")
		mustContain(t, p.mustMage("runs:import", src).out, "added 0 run(s), skipped 1")
		got := p.runIDs()
		require.Len(t, got, 4, "%d runs after import", len(got))
		mustContain(t, p.mustMage("runs", "-where=train.lr=0.4").out, "quick", "0.9")
	})
}
