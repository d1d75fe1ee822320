package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

// adoptRequirements are the packages of the adopting repository: torch
// comes from the shared test venv it is built on (MAGELAB_PYTHON), so only
// tensorboard (for torch.utils.tensorboard) is installed, once, into a
// venv under .cache/ kept between test runs.
const adoptRequirements = "torch==2.11.0\ntensorboard==2.21.0\n"

// TestAdoptRealClient adopts magelab the way a researcher would, in a fresh
// `git init` repository that is not a copy of this one: its own go.mod
// (tool mage, magelab through a replace directive to this checkout, `go mod
// tidy` offline from the module cache), the five-line magefile, then
// through the real `go tool mage`: -l, init -script=train.py, train, train
// -set, a 4-trial sweep ranked by the test loss from the event files, runs,
// runs:show and reproduce. The training script (testdata/charlm) is the
// shape of a well-known public one and is never changed; the metrics
// recorded must be the values it printed.
func TestAdoptRealClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds a venv and trains models")
	}
	p := adoptingRepo(t)

	listed := p.mustGoMage("-l")
	for _, target := range []string{"init ", "train ", "sweep ", "runs ", "runs:show ", "reproduce ", "setup "} {
		assert.Contains(t, listed.out, "  "+target, "go tool mage -l in the adopting repository")
	}
	assert.Contains(t, listed.out, "sets magelab up in this repository")

	initOut := p.mustGoMage("init", "-script=train.py")
	mustContain(t, initOut.out, "init: wrote experiments/default.yaml: train.py with 12 of its 12 options passed from params",
		`go tool mage train -set="train.learning_rate=0.005"`)
	exp := p.read("experiments/default.yaml")
	mustContain(t, exp, "--work-dir ${out}", "--learning-rate ${train.learning_rate}", "${train.resume?--resume}", "seed: 3407", "deps: [names.txt]")
	mustContain(t, p.read(".gitignore"), "/runs/", "/.magelab/", ".env*")
	again := p.mustGoMage("init", "-script=train.py")
	mustContain(t, again.out, "magelab's block is already there", "experiments/default.yaml exists: left as it is")
	p.commit("magelab init")

	// train, with the experiment exactly as init wrote it.
	p.mustGoMage("train")
	first := p.onlyNewRun()
	printed := printedLosses(t, p.read("runs/"+first.ID+"/logs/train.log"))
	require.Len(t, printed, 3, "evaluations at steps 20, 40, 60")
	last := printed[len(printed)-1]
	assert.Equal(t, last.test, first.Metrics["Loss/test"], "Loss/test is the last test loss the script printed")
	assert.Equal(t, last.train, first.Metrics["Loss/train"])
	for _, prose := range []string{"vocab_size", "block_size", "max_steps", "seed"} {
		assert.NotContains(t, first.Metrics, prose, "prose and the echoed args are no metrics")
	}
	assert.Equal(t, record.MetricsTB, first.MetricSources["Loss/test"].Kind)
	assert.Regexp(t, `^out/events\.out\.tfevents\.`, first.MetricSources["Loss/test"].File, "the event file the script wrote to --work-dir")
	assert.FileExists(t, filepath.Join(p.dir, "runs", first.ID, "out", "model.pt"), "the checkpoint is in the run")
	steps := p.read("runs/" + first.ID + "/out/metrics.jsonl")
	assert.Equal(t, 3, strings.Count(steps, "\n"), "the event files' steps in metrics.jsonl:\n%s", steps)
	assert.Contains(t, steps, fmt.Sprintf(`{"step":60,"Loss/test":%s,`, strconv.FormatFloat(last.test, 'g', -1, 64)))
	assert.Equal(t, "up to date", upToDate(p.mustGoMage("train").out))

	// -set reaches the script's own flag at once.
	p.mustGoMage("train", "-set=train.learning_rate=3e-4")
	lower := p.onlyNewRun()
	assert.Equal(t, 3e-4, lower.Params["train"].(map[string]any)["learning_rate"])
	mustContain(t, p.read("runs/"+lower.ID+"/logs/train.log"), "'learning_rate': 0.0003")
	assert.NotEqual(t, first.Metrics["Loss/test"], lower.Metrics["Loss/test"])

	// The researcher adds patterns for the progress lines and a sweep.
	p.write("experiments/default.yaml", strings.Replace(exp, "    deps: [names.txt]",
		"    metrics:\n      patterns:\n        - 'step (?P<step>\\d+) train loss: (?P<train_loss>\\S+) test loss: (?P<test_loss>\\S+)'\n"+
			"        - 'step \\d+ \\| loss \\S+ \\| step time (?P<step_ms>[\\d.]+)ms'\n    deps: [names.txt]", 1)+
		"sweep:\n  parameters:\n    train.learning_rate: [0.01, 0.003]\n    train.n_hidden: [32, 64]\n  metric: Loss/test\n  goal: minimize\n")
	p.commit("a sweep")
	swept := p.mustGoMage("sweep", "-set=train.max_steps=40")
	mustContain(t, swept.out, "4 trials of train")
	m := regexp.MustCompile(`best: trial (\d+), run (\S+): Loss/test=(\S+) with`).FindStringSubmatch(swept.out)
	require.NotNil(t, m, "no best trial in:\n%s", swept.out)
	sweepID := p.readRun(m[2]).SweepID
	var trials []struct {
		ID      string             `json:"id"`
		Metrics map[string]float64 `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.mustGoMage("runs", "-sweep="+sweepID, "-format=json").out), &trials))
	require.Len(t, trials, 4)
	p.markSeen(p.runIDs())
	best := trials[0]
	for _, tr := range trials {
		rec := p.readRun(tr.ID)
		losses := printedLosses(t, p.read("runs/"+tr.ID+"/logs/train.log"))
		end := losses[len(losses)-1]
		assert.Equal(t, end.test, rec.Metrics["Loss/test"], "trial %s: the event file's last test loss is the printed one", tr.ID)
		assert.Equal(t, end.test, rec.Metrics["test_loss"], "trial %s: the declared pattern reads the same number", tr.ID)
		assert.Equal(t, record.MetricsRegex, rec.MetricSources["test_loss"].Kind)
		assert.Contains(t, rec.Metrics, "step_ms")
		if tr.Metrics["Loss/test"] < best.Metrics["Loss/test"] {
			best = tr
		}
	}
	assert.Equal(t, best.ID, m[2], "the sweep's best is the trial with the lowest Loss/test")

	listing := p.mustGoMage("runs", "-sort=Loss/test", "-limit=0")
	assert.Equal(t, 6, strings.Count(listing.out, "finished"), "two trains and four trials:\n%s", listing.out)
	shown := p.mustGoMage("runs:show", first.ID)
	mustContain(t, shown.out, "Loss/test", "train: tensorboard out/events.out.tfevents.")

	// reproduce the first run from its commit, bit for bit.
	r := p.goMage("reproduce", first.ID)
	require.Equal(t, 0, r.code, "reproduce:\n%s", r.out)
	mustContain(t, r.out, "verdict: reproduced: all 2 metrics identical")
	again2 := p.onlyNewRun()
	assert.Equal(t, first.Metrics, again2.Metrics)
	assert.Equal(t, fileSum(t, p.dir, "runs/"+first.ID+"/out/model.pt"), fileSum(t, p.dir, "runs/"+again2.ID+"/out/model.pt"),
		"the reproduction's checkpoint is byte for byte the original's")

	// gpu:check needs no file of magelab's repository: the embedded
	// check scripts run in the default experiment's venv (here on CPU).
	checked := p.mustGoMage("gpu:check")
	mustContain(t, checked.out, "no experiments/gpu-check.yaml in this repository", "matmul_fp32", "train_loop")
}

// adoptingRepo makes the fresh repository: the script and its data, a
// requirements file, go.mod and the magefile, committed.
func adoptingRepo(t *testing.T) *project {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "charlm")
	for _, f := range []string{"train.py", "names.txt"} {
		copyFile(t, filepath.Join(repoRoot, "e2e", "testdata", "charlm", f), filepath.Join(dir, f), 0o644)
	}
	p := &project{t: t, dir: dir, venv: filepath.Join(repoRoot, ".cache", "test-venv-adopt")}
	p.write("requirements.txt", adoptRequirements)
	p.write("go.mod", fmt.Sprintf("module example.com/charlm\n\ngo %s\n\ntool github.com/magefile/mage\n\n"+
		"require github.com/magelab/magelab v0.0.0\n\nreplace github.com/magelab/magelab => %s\n", goModVersion(t, repoRoot), repoRoot))
	p.write("magefiles/magefile.go", "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/magelab/magelab/targets\"\n)\n")
	p.env = []string{noGPU(t), "MAGELAB_PYTHON=" + filepath.Join(sharedVenv, "bin", "python"),
		"MAGEFILE_CACHE=" + t.TempDir(), "GOFLAGS=-mod=mod"}
	// Offline first: the modules this one builds with are in the module
	// cache. A fresh cache may still lack go.mod files that only tidy's
	// wider module graph reads (sprig's go-spew v1.1.1, on CI's first run):
	// then tidy fetches them, as a user's would.
	p.env = append(p.env, "GOPROXY=off", "GOSUMDB=off")
	tidy := p.run("go", "mod", "tidy")
	p.env = p.env[:len(p.env)-2]
	if tidy.code != 0 {
		t.Logf("go mod tidy offline failed, fetching what the module cache lacks:\n%s", tidy.out)
		tidy = p.run("go", "mod", "tidy")
	}
	require.Equal(t, 0, tidy.code, "go mod tidy:\n%s", tidy.out)
	mod := p.read("go.mod")
	mustContain(t, mod, "github.com/magefile/mage v", "github.com/magelab/magelab v0.0.0")
	gitIn(t, dir, "init", "-q")
	p.commit("a training script")
	return p
}

func (p *project) commit(msg string) {
	p.t.Helper()
	gitIn(p.t, p.dir, "add", "-A")
	gitIn(p.t, p.dir, "-c", "user.name=r", "-c", "user.email=r@example.com", "commit", "-qm", msg)
}

// goMage runs the adopting repository's own `go tool mage`.
func (p *project) goMage(args ...string) result {
	p.t.Helper()
	return p.run("go", append([]string{"tool", "mage"}, args...)...)
}

func (p *project) mustGoMage(args ...string) result {
	p.t.Helper()
	r := p.goMage(args...)
	if r.code != 0 {
		p.t.Fatalf("go tool mage %v: exit %d\n%s", args, r.code, r.out)
	}
	return r
}

type losses struct{ step, train, test float64 }

// printedLosses are the script's own evaluation lines, as it printed them.
func printedLosses(t *testing.T, log string) []losses {
	t.Helper()
	re := regexp.MustCompile(`^step (\d+) train loss: (\S+) test loss: (\S+)$`)
	var out []losses
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			var l losses
			for i, p := range []*float64{&l.step, &l.train, &l.test} {
				v, err := strconv.ParseFloat(m[i+1], 64)
				require.NoError(t, err)
				*p = v
			}
			require.False(t, math.IsNaN(l.test))
			out = append(out, l)
		}
	}
	return out
}

func upToDate(out string) string {
	if strings.Contains(out, "train: up to date: run ") {
		return "up to date"
	}
	return out
}

func fileSum(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
