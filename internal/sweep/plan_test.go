package sweep

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record/recordtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanMatrix(t *testing.T) {
	e := experiment(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 0.001]\n    train.hidden: [16, 32, 64, 128]\n    train.opt: [adam, sgd]\n  metric: acc\n")
	require.NoError(t, e.Set("train.epochs=2"))
	m, err := PlanMatrix(e, "train.epochs=2", 5)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteMatrix(&buf, m))
	recordtest.CheckGolden(t, "matrix.json", buf.Bytes())
	covered := 0
	for k, c := range m.Include {
		require.Equal(t, k, c.Chunk, "chunk %d: %+v", k, c)
		require.Equal(t, covered+1, c.First, "chunk %d: %+v", k, c)
		require.GreaterOrEqual(t, c.Last, c.First, "chunk %d: %+v", k, c)
		require.Equal(t, 24, c.Trials, "chunk %d: %+v", k, c)
		require.Equal(t, ID(e), c.Sweep, "chunk %d: %+v", k, c)
		require.Equal(t, "experiments/x.yaml", c.Exp, "chunk %d: %+v", k, c)
		n := c.Last - c.First + 1
		assert.GreaterOrEqual(t, n, 4, "chunk %d holds %d trials: uneven", k, n)
		assert.LessOrEqual(t, n, 5, "chunk %d holds %d trials: uneven", k, n)
		covered = c.Last
	}
	require.Equal(t, 24, covered, "%d chunks cover trials 1 to %d", len(m.Include), covered)
	require.Len(t, m.Include, 5, "%d chunks cover trials 1 to %d", len(m.Include), covered)
	again, _ := PlanMatrix(e, "train.epochs=2", 5)
	b, _ := json.Marshal(again)
	require.Equal(t, strings.TrimSpace(buf.String()), string(b), "the same plan twice differs")
	one, _ := PlanMatrix(e, "", 0)
	require.Len(t, one.Include, 24, "default: want one chunk per trial")
	require.Equal(t, 24, one.Include[23].First, "default: want one chunk per trial")
	_, err = PlanMatrix(e, "", 257)
	require.ErrorContains(t, err, "1 to 256 jobs", "257 jobs")
}

func TestPlanMatrixCapsAt256(t *testing.T) {
	vals := make([]string, 300)
	for i := range vals {
		vals[i] = itoa(i)
	}
	e := experiment(t, "sweep:\n  parameters:\n    train.hidden: ["+strings.Join(vals, ", ")+"]\n")
	m, err := PlanMatrix(e, "", 0)
	require.NoError(t, err)
	require.Len(t, m.Include, MaxJobs, "chunks")
	require.Equal(t, 300, m.Include[MaxJobs-1].Last, "last chunk's last trial")
	var buf bytes.Buffer
	WriteMatrix(&buf, m)
	require.LessOrEqual(t, buf.Len(), 1<<20, "matrix of %d bytes: over GitHub's 1 MB job output", buf.Len())
}

func TestChunkLoad(t *testing.T) {
	e := experiment(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n")
	require.NoError(t, e.Set("train.epochs=5"))
	m, _ := PlanMatrix(e, "train.epochs=5", 2)
	path := filepath.Join(t.TempDir(), "plan.json")
	f, _ := os.Create(path)
	WriteMatrix(f, m)
	f.Close()
	read, err := ReadMatrix(path)
	require.NoError(t, err)
	c, err := read.Find(path, 1)
	require.NoError(t, err, "chunk 1: %+v", c)
	require.Equal(t, 2, c.First, "chunk 1: %+v", c)
	got, err := c.Load(e.Root)
	require.NoError(t, err, "load")
	require.Equal(t, 5, got.Params["train"].(map[string]any)["epochs"], "load: train.epochs")
	_, err = read.Find(path, 7)
	require.ErrorContains(t, err, "has no chunk 7 (it has 0 to 1)", "missing chunk")
	mustWrite(t, e.Root, "experiments/x.yaml", strings.Replace(mustRead(t, e.File), "lr: 0.01", "lr: 0.02", 1))
	_, err = c.Load(e.Root)
	require.ErrorContains(t, err, "the plan is for sweep "+m.Include[0].Sweep, "changed experiment")
	os.WriteFile(path, []byte(`{"include": []}`), 0o644)
	_, err = ReadMatrix(path)
	require.ErrorContains(t, err, "is not a sweep plan", "empty plan")
}

func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err)
	return string(b)
}
