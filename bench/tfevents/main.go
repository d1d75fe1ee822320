// Command tfevents measures how fast magelab reads TensorBoard event files:
// a 100,000-step, 5-tag file (500,000 scalar events, written as torch's
// SummaryWriter writes them) parsed by internal/metrics — TFRecord framing,
// both CRC-32C checks per record, the protobuf Event and Summary — against
// TensorBoard's own EventAccumulator on the same file, in the same run. The
// goal is under 0.5 s, so that reading a run's event files never slows a
// run down.
//
// Run it from the repository root: go run ./bench/tfevents [-rounds 5]
// It builds a venv with tensorboard under .cache/bench-tensorboard (once;
// skipped when its requirements are unchanged), prints min/median/max per
// reader and the ratio, and writes bench/results/tfevents.json.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/magelab/magelab/internal/metrics"
	"github.com/magelab/magelab/internal/venv"
)

const (
	steps = 100_000
	tags  = 5
)

var tagNames = []string{"Loss/train", "Loss/test", "lr", "grad_norm", "tokens_per_s"}

func main() {
	rounds := flag.Int("rounds", 5, "repetitions per reader")
	flag.Parse()
	if err := run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "tfevents bench:", err)
		os.Exit(1)
	}
}

func run(rounds int) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	work := filepath.Join(root, "bench", ".work", "tfevents")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	path := filepath.Join(work, "events.out.tfevents.1700000000.bench.1.0")
	size, err := writeFile(path)
	if err != nil {
		return err
	}
	fmt.Printf("event file: %d steps x %d tags = %d scalars, %.1f MB\n", steps, tags, steps*tags, float64(size)/1e6)

	v := venv.Venv{Dir: filepath.Join(root, ".cache", "bench-tensorboard"), Root: root, Requirements: []string{"bench/tfevents/requirements.txt"}}
	if _, err := v.Ensure(context.Background(), os.Stderr); err != nil {
		return err
	}
	// Round-robin, one round of each reader at a time, so that the load of
	// a shared machine falls on both alike.
	var goSec []float64
	tb := &tbResult{}
	for range rounds {
		g, last, err := timeGo(path, 1)
		if err != nil {
			return err
		}
		t, err := timeTensorBoard(v.Python(), filepath.Join(root, "bench", "tfevents", "accumulate.py"), path, 1)
		if err != nil {
			return err
		}
		if err := sameValues(last, t); err != nil {
			return err
		}
		goSec, tb.Seconds = append(goSec, g...), append(tb.Seconds, t.Seconds...)
	}
	report(goSec, tb.Seconds)
	return save(filepath.Join(root, "bench", "results", "tfevents.json"), size, goSec, tb.Seconds)
}

// writeFile writes the benchmark's event file: at each step one scalar per
// tag, a float32 that changes every step.
func writeFile(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := metrics.NewEventWriter(f)
	for s := range steps {
		for i, tag := range tagNames {
			v := float32(math.Exp(-float64(s)/20000)) * float32(i+1)
			if err := w.Scalar(1.7e9+float64(s)*0.01, int64(s), tag, v); err != nil {
				f.Close()
				return 0, err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return info.Size(), f.Close()
}

// timeGo reads the file rounds times with metrics.ReadEventFile (the page
// cache is warm: the file was just written).
func timeGo(path string, rounds int) ([]float64, map[string]metrics.Point, error) {
	var sec []float64
	last := map[string]metrics.Point{}
	for range rounds {
		start := time.Now()
		ef, err := metrics.ReadEventFile(path)
		if err != nil {
			return nil, nil, err
		}
		sec = append(sec, time.Since(start).Seconds())
		if ef.Warning != "" {
			return nil, nil, fmt.Errorf("%s", ef.Warning)
		}
		n := 0
		for _, tag := range ef.Tags {
			s := ef.Series[tag]
			n += len(s)
			last[tag] = s[len(s)-1]
		}
		if n != steps*tags {
			return nil, nil, fmt.Errorf("read %d scalars, wrote %d", n, steps*tags)
		}
	}
	return sec, last, nil
}

type tbResult struct {
	Seconds []float64             `json:"seconds"`
	Scalars int                   `json:"scalars"`
	Last    map[string][2]float64 `json:"last"`
}

func timeTensorBoard(python, script, path string, rounds int) (*tbResult, error) {
	cmd := exec.Command(python, script, path, fmt.Sprint(rounds))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("EventAccumulator: %w", err)
	}
	var r tbResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("EventAccumulator's output: %w", err)
	}
	return &r, nil
}

// sameValues checks that both readers read every scalar and the same last
// value of each tag.
func sameValues(goLast map[string]metrics.Point, tb *tbResult) error {
	if tb.Scalars != steps*tags {
		return fmt.Errorf("EventAccumulator read %d scalars, wrote %d", tb.Scalars, steps*tags)
	}
	for _, tag := range tagNames {
		g, t := goLast[tag], tb.Last[tag]
		if float64(g.Step) != t[0] || g.Value != t[1] {
			return fmt.Errorf("%s: magelab read step %d = %v, EventAccumulator step %v = %v", tag, g.Step, g.Value, t[0], t[1])
		}
	}
	return nil
}

func stats(s []float64) (lo, med, hi float64) {
	c := slices.Clone(s)
	slices.Sort(c)
	return c[0], c[len(c)/2], c[len(c)-1]
}

func report(goSec, tbSec []float64) {
	gl, gm, gh := stats(goSec)
	tl, tm, th := stats(tbSec)
	fmt.Printf("\n| reader | min | median | max |\n|---|---:|---:|---:|\n")
	fmt.Printf("| magelab (internal/metrics) | %.3f s | %.3f s | %.3f s |\n", gl, gm, gh)
	fmt.Printf("| tensorboard EventAccumulator | %.2f s | %.2f s | %.2f s |\n", tl, tm, th)
	fmt.Printf("\nmedian ratio: EventAccumulator takes %.1fx magelab's time; goal < 0.5 s: %s\n", tm/gm, verdict(gm < 0.5))
	fmt.Printf("both read %d scalars and the same last value of each of the %d tags\n", steps*tags, tags)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func save(path string, size int64, goSec, tbSec []float64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "steps": steps, "tags": tags, "bytes": size,
		"magelab_s": goSec, "tensorboard_s": tbSec}, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
