// Command sweep measures how well `magelab sweep` keeps its slots busy: 64
// trials that sleep 0.1–1 s (uneven, in a seeded random order) on 4 slots,
// run by a binary built with `go tool mage -compile`, against the ideal
// makespan (the sum of the sleeps / 4 slots) and against the hand-written
// baseline: the same script run once per trial by `xargs -P 4`.
//
// Run it from the repository root: go run ./bench/sweep [-rounds 3]
// It prints min/median/max per case and writes bench/results/sweep.json.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const napScript = `import sys, time
time.sleep(float(sys.argv[1]))
print("slept=" + sys.argv[1])
`

const (
	trials = 64
	slots  = 4
)

func main() {
	rounds := flag.Int("rounds", 3, "repetitions per case")
	flag.Parse()
	if err := run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "sweep bench:", err)
		os.Exit(1)
	}
}

// naps are the trial durations: distinct, uniform over [0.1, 1] s, in a
// fixed random order.
func naps() []float64 {
	r := rand.New(rand.NewPCG(64, 4))
	seen := map[string]bool{}
	var out []float64
	for len(out) < trials {
		d := 0.1 + 0.9*r.Float64()
		k := strconv.FormatFloat(d, 'f', 3, 64)
		if !seen[k] {
			seen[k] = true
			v, _ := strconv.ParseFloat(k, 64)
			out = append(out, v)
		}
	}
	return out
}

func run(rounds int) error {
	repo, _ := os.Getwd()
	work, err := os.MkdirTemp("", "magelab-bench-sweep-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "magelab")
	if err := sh(repo, nil, "go", "tool", "mage", "-compile", bin); err != nil {
		return err
	}
	ds := naps()
	var sum float64
	values := make([]string, len(ds))
	for i, d := range ds {
		sum += d
		values[i] = strconv.FormatFloat(d, 'f', -1, 64)
	}
	ideal, fifo := sum/slots, fifoMakespan(ds)
	proj := filepath.Join(work, "proj")
	if err := layout(proj, values); err != nil {
		return err
	}
	venv := filepath.Join(work, "venv")
	// No GPU here, and none wanted: CPU slots, -parallel=4.
	env := []string{"MAGELAB_VENV=" + venv, "CUDA_VISIBLE_DEVICES="}
	if err := sh(proj, env, bin, "setup", "-exp=naps"); err != nil {
		return err
	}
	py := filepath.Join(venv, "bin", "python")
	round := 0
	cases := []benchCase{
		{"xargs -P 4 (script per trial)", func() error {
			cmd := exec.Command("xargs", "-P", strconv.Itoa(slots), "-n", "1", py, "nap.py")
			cmd.Dir, cmd.Stdin = proj, strings.NewReader(strings.Join(values, "\n"))
			return quiet(cmd)
		}},
		{"magelab sweep -parallel=4 (compiled)", func() error {
			round++ // a new sweep each time: nothing reused
			return sh(proj, env, bin, "sweep", "-exp=naps", "-parallel=4", fmt.Sprintf("-set=train.round=%d", round))
		}},
	}
	results := measure(cases, rounds)
	report(results, ideal, fifo, sum)
	return save(repo, results, ideal, fifo, sum)
}

// fifoMakespan is the makespan of handing the trials, in order, to the
// first free slot with no cost at all: what any scheduler that does not
// know the durations in advance (xargs, magelab) can reach at best.
func fifoMakespan(ds []float64) float64 {
	free := make([]float64, slots)
	for _, d := range ds {
		sort.Float64s(free)
		free[0] += d
	}
	sort.Float64s(free)
	return free[slots-1]
}

func layout(proj string, values []string) error {
	exp := "name: naps\nrequirements: []\nstages:\n  train: {cmd: \"python nap.py ${train.nap}\"}\n" +
		"train: {nap: 0.1, round: 0}\nsweep:\n  parameters:\n    train.nap: [" + strings.Join(values, ", ") + "]\n" +
		"  metric: slept\n  goal: minimize\n"
	files := map[string]string{"experiments/naps.yaml": exp, "nap.py": napScript, ".gitignore": "/runs/\n/.magelab/\n"}
	for rel, content := range files {
		p := filepath.Join(proj, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	// A real repository, as in a user's project: every trial stamps its git state.
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"}} {
		if err := sh(proj, nil, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

type benchCase struct {
	name string
	run  func() error
}

type stats struct {
	Case             string
	Samples          []float64 // seconds
	MinS, MedS, MaxS float64
}

// measure runs the cases round-robin, so that the machine's noise falls on
// every case alike.
func measure(cases []benchCase, rounds int) []stats {
	out := make([]stats, len(cases))
	for i, c := range cases {
		out[i].Case = c.name
	}
	for range rounds {
		for i, c := range cases {
			start := time.Now()
			if err := c.run(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", c.name, err)
				continue
			}
			out[i].Samples = append(out[i].Samples, time.Since(start).Seconds())
		}
	}
	for i := range out {
		s := append([]float64(nil), out[i].Samples...)
		sort.Float64s(s)
		if len(s) > 0 {
			out[i].MinS, out[i].MedS, out[i].MaxS = s[0], s[len(s)/2], s[len(s)-1]
		}
	}
	return out
}

// overhead is the slot time per trial not spent in the trial's own sleep:
// process start-up, bookkeeping and idle slots at the end.
func overhead(makespan, sum float64) float64 {
	return (makespan*slots - sum) / trials
}

func report(results []stats, ideal, fifo, sum float64) {
	fmt.Printf("%d trials, %.1f s of sleep in all, %d slots: ideal makespan %.2f s; first-free-slot order without any cost %.2f s (%.3f × ideal)\n\n",
		trials, sum, slots, ideal, fifo, fifo/ideal)
	fmt.Printf("%-40s %8s %8s %8s %10s %16s\n", "case", "min s", "median", "max", "vs ideal", "overhead/trial")
	for _, s := range results {
		fmt.Printf("%-40s %8.2f %8.2f %8.2f %9.3fx %13.0f ms\n", s.Case, s.MinS, s.MedS, s.MaxS, s.MedS/ideal, 1000*overhead(s.MedS, sum))
	}
	x, m := results[0], results[1]
	fmt.Printf("\nmagelab makespan %.3f × ideal (goal ≤ 1.05), %.3f × the zero-cost order, %.3f × xargs (goal ≤ 1.10)\n",
		m.MedS/ideal, m.MedS/fifo, m.MedS/x.MedS)
}

func save(repo string, results []stats, ideal, fifo, sum float64) error {
	dir := filepath.Join(repo, "bench", "results")
	os.MkdirAll(dir, 0o755)
	rows := make([]map[string]any, len(results))
	for i, s := range results {
		rows[i] = map[string]any{"case": s.Case, "min_s": s.MinS, "median_s": s.MedS, "max_s": s.MaxS, "samples_s": s.Samples,
			"vs_ideal": s.MedS / ideal, "overhead_per_trial_ms": 1000 * overhead(s.MedS, sum)}
	}
	b, _ := json.MarshalIndent(map[string]any{"time": time.Now().UTC(), "trials": trials, "slots": slots, "sleep_s": sum,
		"ideal_s": ideal, "fifo_s": fifo, "results": rows}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "sweep.json"), b, 0o644)
}

func sh(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return quiet(cmd)
}

func quiet(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %v\n%s", cmd.Args, err, out)
	}
	return nil
}
