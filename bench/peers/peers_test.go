package peers

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestSynthRunsAreReproducible(t *testing.T) {
	a, b := synthRuns(50, 9), synthRuns(50, 9)
	for i := range a {
		require.Equal(t, a[i].ID, b[i].ID, "run %d differs between two calls with the same seed", i)
		require.Equal(t, a[i].Metrics["val_accuracy"], b[i].Metrics["val_accuracy"], "run %d differs between two calls with the same seed", i)
		require.Len(t, a[i].Params, 20, "run %d: %d params, %d metrics; want 20 and 10", i, len(a[i].Params), len(a[i].Metrics))
		require.Len(t, a[i].Metrics, 10, "run %d: %d params, %d metrics; want 20 and 10", i, len(a[i].Params), len(a[i].Metrics))
		if i > 0 {
			require.Greater(t, a[i].ID, a[i-1].ID, "ids not time-ordered: %s after %s", a[i].ID, a[i-1].ID)
		}
	}
}

func TestNested(t *testing.T) {
	got := mustJSON(nested(map[string]any{"seed": 1, "train.lr": 0.1, "train.hidden": 64, "data.n": 2}))
	want := `{"data":{"n":2},"seed":1,"train":{"hidden":64,"lr":0.1}}`
	require.Equal(t, want, got, "nested = %s, want %s", got, want)
}

// TestLedgerQueryMatchesSynth writes synthetic runs through the ledger and
// checks that magelab's query finds exactly the runs the filter selects.
func TestLedgerQueryMatchesSynth(t *testing.T) {
	runs := synthRuns(300, 9)
	dir := filepath.Join(t.TempDir(), "runs")
	require.NoError(t, writeLedger(dir, runs))
	want := 0
	for _, r := range runs {
		if r.Status == record.StatusFinished && r.Params["train.lr"] == 0.01 && r.Metrics["val_accuracy"] > 0.9 {
			want++
		}
	}
	conds, err := query.ParseWhere(where)
	require.NoError(t, err)
	got, _, err := query.List(ledger.Open(dir), query.Query{Where: conds})
	require.NoError(t, err)
	require.Len(t, got, want, "query found %d runs, the synthetic runs have %d", len(got), want)
	require.NotZero(t, want, "query found %d runs, the synthetic runs have %d", len(got), want)
}

// TestDVCExpsAreRefsOnTheBaseline writes experiments into a real git
// repository and reads them back with git.
func TestDVCExpsAreRefsOnTheBaseline(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not on PATH")
	}
	dir := t.TempDir()
	lock := "schema: '2.0'\nstages:\n  setup-data:\n    cmd: a\n  preprocess:\n    cmd: b\n  train:\n    cmd: c\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dvc.lock"), []byte(lock), 0o644))
	env := append(baseEnv(), "HOME="+dir)
	ctx := context.Background()
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "base"}} {
		require.NoError(t, (command{dir: dir, env: env, name: "git", args: args}).run(ctx))
	}
	runs := synthRuns(3, 9)
	require.NoError(t, writeDVCExps(ctx, dir, env, runs))
	out, err := command{dir: dir, env: env, name: "git", args: []string{"for-each-ref", "--format=%(refname)", "refs/exps/"}}.output(ctx)
	require.NoError(t, err)
	refs := strings.Fields(string(out))
	require.Len(t, refs, len(runs), "refs = %q, want %d", refs, len(runs))
	for _, r := range runs {
		assert.Contains(t, string(out), "/"+dvcExpName(r.ID)+"\n", "no ref for run %s (%s) in %q", r.ID, dvcExpName(r.ID), refs)
	}
	show, err := command{dir: dir, env: env, name: "git", args: []string{"show", refs[0] + ":dvc.lock", refs[0] + "~1:dvc.lock"}}.output(ctx)
	require.NoError(t, err)
	require.Contains(t, string(show), lock, "the experiment's parent is not the baseline:\n%s", show)
	var got map[string]any
	lockOut, err := command{dir: dir, env: env, name: "git", args: []string{"show", refs[0] + ":dvc.lock"}}.output(ctx)
	if err == nil {
		err = yaml.Unmarshal(lockOut, &got)
	}
	require.NoError(t, err)
	train := got["stages"].(map[string]any)["train"].(map[string]any)
	_, ok := train["params"].(map[string]any)["params.json"].(map[string]any)["train"]
	require.True(t, ok, "dvc.lock's train stage has no train params: %v", train)
}

func TestGoalsSayWhichAreMet(t *testing.T) {
	rep := &Report{Options: Options{Sizes: []int{10000}}, Results: []*Result{
		{Figure: "run", Tool: "python", MedMS: 100},
		{Figure: "run", Tool: "magelab", MedMS: 110},
		{Figure: "run", Tool: "guild", Case: "guild run -y", MedMS: 150},
		{Figure: "uptodate", Tool: "magelab", MedMS: 10},
		{Figure: "query", Op: "query", Size: 10000, Tool: "magelab", MedMS: 30},
		{Figure: "query", Op: "query", Size: 10000, Tool: "dvc", Case: "show", MedMS: 3000},
	}}
	got := goals(rep)
	for _, want := range []string{"| +10 ms | guild run -y: +50 ms | 5.0× | **no** |", "| 10.0 ms | | | yes |", "| 100× | yes |"} {
		assert.Contains(t, got, want, "goals table lacks %q:\n%s", want, got)
	}
}

// TestUVToolWithoutUV: on a machine without uv, the benchmark installs uv
// into .cache/tools as .ci/run does, and uses it; a second call reuses it.
func TestUVToolWithoutUV(t *testing.T) {
	if testing.Short() {
		t.Skip("installs uv from PyPI")
	}
	var path []string // this PATH without the directories that hold a uv
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "uv")); err != nil {
			path = append(path, dir)
		}
	}
	repo := t.TempDir()
	var log bytes.Buffer
	b := &bench{repo: repo, log: &log, base: []string{"PATH=" + strings.Join(path, ":"), "HOME=" + os.Getenv("HOME")}}
	uv, err := b.uvTool(context.Background())
	require.NoError(t, err, "uvTool:\n%s", log.String())
	assert.Equal(t, filepath.Join(repo, ".cache", "tools", "venv", "bin", "uv"), uv)
	out, err := exec.Command(uv, "--version").CombinedOutput()
	require.NoError(t, err, "%s --version: %s", uv, out)
	assert.True(t, strings.HasPrefix(string(out), "uv "), "%s --version: %s", uv, out)
	assert.Contains(t, log.String(), "uv is not on PATH: installing it")
	log.Reset()
	again, err := b.uvTool(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uv, again, "the second call reuses the uv it installed")
	assert.Zero(t, log.Len(), "the second call logs nothing: %q", log.String())
}
