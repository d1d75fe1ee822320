// Command overhead measures what magelab adds to running a pipeline: a
// trivial three-stage experiment whose scripts do nothing, run through
// `go tool mage train` and through a binary built by `go tool mage -compile`,
// against the same scripts run with the venv's python directly; and the
// up-to-date check, with 10,000 files in the data stage's output.
//
// Run it from the repository root: go run ./bench/overhead [-n 15]
// It prints min/median/max per case and writes bench/results/overhead.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

const stageScript = `import argparse, os
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir")
a = ap.parse_args()
n = int(os.environ.get("BENCH_FILES", "0")) if os.environ.get("MAGELAB_STAGE") == "setup-data" else 0
for i in range(n):
    open(os.path.join(a.out, f"f{i:05d}.txt"), "w").write(str(i))
open(os.path.join(a.out, "metrics.json"), "w").write('{"score": 1}')
`

const experiment = `name: trivial
requirements: []
stages:
  setup-data: python/s1.py
  preprocess: python/s2.py
  train: python/s3.py
data: {n: 0}
train: {lr: 0.1}
`

type stats struct {
	Case                string    `json:"case"`
	Runs                int       `json:"runs"`
	MinMS, MedMS, MaxMS float64   `json:"-"`
	Samples             []float64 `json:"samples_ms"`
}

func main() {
	n := flag.Int("n", 15, "repetitions per case")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	repo, _ := os.Getwd()
	work, err := os.MkdirTemp("", "magelab-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "magelab")
	if err := sh(repo, nil, "go", "tool", "mage", "-compile", bin); err != nil {
		return err
	}
	proj := filepath.Join(work, "proj")
	if err := layout(repo, proj); err != nil {
		return err
	}
	venv := filepath.Join(work, "venv")
	env := []string{"MAGELAB_VENV=" + venv}
	if err := sh(proj, env, bin, "setup", "-exp=trivial"); err != nil {
		return err
	}
	py := filepath.Join(venv, "bin", "python")
	i := 0
	next := func() string { i++; return fmt.Sprintf("-set=data.n=%d", i) }

	bare := func() error {
		out := filepath.Join(work, "bare")
		for _, s := range []string{"s1", "s2", "s3"} {
			os.RemoveAll(out)
			os.MkdirAll(out, 0o755)
			if err := sh(proj, nil, py, "python/"+s+".py", "--params", filepath.Join(proj, "p.json"), "--out", out); err != nil {
				return err
			}
		}
		return nil
	}
	many := append(env, "BENCH_FILES=10000")
	cases := []benchCase{
		{"bare python, 3 stages", bare},
		{"magelab compiled, 3 stages", func() error { return sh(proj, env, bin, "train", "-exp=trivial", next()) }},
		{"go tool mage, 3 stages", func() error { return sh(proj, env, "go", "tool", "mage", "train", "-exp=trivial", next()) }},
		{"magelab compiled, up to date", func() error { return sh(proj, env, bin, "train", "-exp=trivial") }},
		{"go tool mage, up to date", func() error { return sh(proj, env, "go", "tool", "mage", "train", "-exp=trivial") }},
		{"compiled setupData up to date, 10k output files", func() error {
			return sh(proj, many, bin, "setupData", "-exp=trivial", "-set=data.n=-1")
		}},
		{"compiled train up to date, 10k files upstream", func() error {
			return sh(proj, many, bin, "train", "-exp=trivial", "-set=data.n=-1")
		}},
	}
	results := measure(cases, n)
	report(results)
	return save(repo, results)
}

// layout writes the trivial project: the magefiles come from the repo so
// that `go tool mage` works in it.
func layout(repo, proj string) error {
	files := map[string]string{
		"experiments/trivial.yaml": experiment,
		"python/s1.py":             stageScript,
		"python/s2.py":             stageScript,
		"python/s3.py":             stageScript,
		"p.json":                   `{"seed": 0}`,
	}
	for rel, content := range files {
		p := filepath.Join(proj, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	// go tool mage needs a module that imports magelab's targets: the
	// project adopts magelab as a user's repository does (docs/adopt.md),
	// through a replace directive to this checkout, its go.mod tidied from
	// the module cache this checkout builds with.
	if err := adopt(repo, proj); err != nil {
		return err
	}
	// A real repository, as in a user's project: every run stamps its git state.
	os.WriteFile(filepath.Join(proj, ".gitignore"), []byte("/runs/\n/.magelab/\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"}} {
		if err := sh(proj, nil, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

// adopt writes proj's go.mod and magefile and tidies the module.
func adopt(repo, proj string) error {
	goMod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return err
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(goMod)
	files := map[string]string{
		"go.mod": fmt.Sprintf("module example.com/bench\n\n%s\n\ntool github.com/magefile/mage\n\n"+
			"require github.com/magelab/magelab v0.0.0\n\nreplace github.com/magelab/magelab => %s\n", goLine, repo),
		"magefiles/magefile.go": "//go:build mage\n\npackage main\n\nimport (\n\t//mage:import\n\t_ \"github.com/magelab/magelab/targets\"\n)\n",
	}
	for rel, content := range files {
		p := filepath.Join(proj, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := sh(proj, []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off"}, "go", "mod", "tidy"); err == nil {
		return nil
	}
	// A module cache that lacks something (a fresh machine that built only
	// the magefile): fetch it.
	return sh(proj, []string{"GOFLAGS=-mod=mod"}, "go", "mod", "tidy")
}

type benchCase struct {
	name string
	run  func() error
}

// measure runs the cases round-robin, n rounds after one warm-up round, so
// that the machine's noise falls on every case alike.
func measure(cases []benchCase, n int) []stats {
	out := make([]stats, len(cases))
	for i, c := range cases {
		out[i] = stats{Case: c.name, Runs: n}
		if err := c.run(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", c.name, err)
		}
	}
	for k := 0; k < n; k++ {
		for i, c := range cases {
			start := time.Now()
			if err := c.run(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", c.name, err)
				continue
			}
			out[i].Samples = append(out[i].Samples, float64(time.Since(start).Microseconds())/1000)
		}
	}
	for i := range out {
		sorted := append([]float64(nil), out[i].Samples...)
		sort.Float64s(sorted)
		if len(sorted) > 0 {
			out[i].MinMS, out[i].MedMS, out[i].MaxMS = sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1]
		}
	}
	return out
}

func report(results []stats) {
	bare := results[0].MedMS
	fmt.Printf("%-50s %9s %9s %9s %12s\n", "case", "min ms", "median", "max", "vs bare")
	for _, s := range results {
		if len(s.Samples) == 0 {
			fmt.Printf("%-50s %9s   (every run failed: see the errors above)\n", s.Case, "failed")
			continue
		}
		fmt.Printf("%-50s %9.1f %9.1f %9.1f %+11.1f\n", s.Case, s.MinMS, s.MedMS, s.MaxMS, s.MedMS-bare)
	}
	fmt.Printf("\ncompiled wrapper overhead per run: %.1f ms over bare python (goal ≤ 30 ms)\n", results[1].MedMS-bare)
	fmt.Printf("up-to-date check, compiled: %.1f ms; with 10k output files: %.1f ms (goal ≤ 50 ms)\n", results[3].MedMS, results[5].MedMS)
}

func save(repo string, results []stats) error {
	dir := filepath.Join(repo, "bench", "results")
	os.MkdirAll(dir, 0o755)
	rows := make([]map[string]any, len(results))
	for i, s := range results {
		rows[i] = map[string]any{"case": s.Case, "runs": s.Runs, "min_ms": s.MinMS, "median_ms": s.MedMS, "max_ms": s.MaxMS, "samples_ms": s.Samples}
	}
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "results": rows}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "overhead.json"), b, 0o644)
}

func sh(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}
