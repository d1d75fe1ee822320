// Command ui measures the web UI (go run ./bench/ui): a ledger of 10,000
// synthetic runs served by internal/ui, the runs page in headless Chromium
// until its table is on screen, a filter+sort answered by the API, and a
// run whose metric has 1,000,000 points drawn from the server's
// downsampled series; with -mlflow=VENV, the same runs in MLflow's SQLite
// store (loaded with bench/ledger/mlflow_bench.py, through MlflowClient)
// served by `mlflow server`, its search API and its UI timed the same way.
// It prints a markdown table (the figures in docs/ui.md and
// bench/README.md).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/ui"
)

var (
	runs     = flag.Int("runs", 10000, "runs in the ledger")
	points   = flag.Int("points", 1000000, "points of the long metric series")
	rounds   = flag.Int("rounds", 7, "repetitions of each timing")
	mlflowPy = flag.String("mlflow", "", "python of a venv with mlflow (e.g. .cache/test-venv-mlflow/bin/python): also time MLflow's server")
	clientN  = flag.Int("mlflow-client", 10000, "runs MLflow's own client loads (the rest are inserted with its models)")
)

const (
	filterWhere = "val_accuracy>0.9 train.lr=0.01 status=finished"
	filterSort  = "-val_accuracy"
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ui:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "magelab-bench-ui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l := ledger.Open(filepath.Join(dir, "runs"))
	longID, err := generate(l, dir, *runs, *points)
	if err != nil {
		return err
	}
	// handler is swapped for a fresh server (empty caches) where a case is
	// "uncached".
	var handler http.Handler = ui.NewServer(l).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	fresh := func() { handler = ui.NewServer(l).Handler() }
	var rows [][]string
	add := func(name string, s []time.Duration, goal string) {
		rows = append(rows, []string{name, ms(slices.Min(s)), ms(median(s)), ms(slices.Max(s)), goal})
	}
	q := "/api/runs?limit=50&where=" + url.QueryEscape(filterWhere) + "&sort=" + url.QueryEscape(filterSort)
	add("API: filter+sort, 10k runs (uncached)", repeat(func(int) error { fresh(); return getOK(srv.URL + q) }), "< 200 ms")
	add("API: filter+sort, next page (cached)", repeat(func(int) error { return getOK(srv.URL + q + "&offset=50") }), "")
	add("API: first page of 10k runs, newest first (uncached)", repeat(func(int) error { fresh(); return getOK(srv.URL + "/api/runs?limit=50") }), "")
	add("API: 1M-point series → 1200 px (first read of the file)", repeat(func(int) error {
		fresh()
		return getOK(srv.URL + "/api/runs/" + longID + "/series?width=1200")
	}), "")
	add("API: 1M-point series → 1200 px (file cached)", repeat(func(int) error { return getOK(srv.URL + "/api/runs/" + longID + "/series?width=1200") }), "")
	page, draw, berr := browserTimes(srv.URL, longID)
	if berr == nil {
		add("browser: runs page of 10k runs interactive", page, "< 1 s")
		add("browser: run page, 1M-point curve drawn", draw, "< 300 ms")
	} else {
		fmt.Fprintln(os.Stderr, "bench/ui: browser figures skipped:", berr)
	}
	if *mlflowPy != "" {
		mrows, err := mlflowTimes(dir, rows)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/ui: mlflow figures skipped:", err)
		}
		rows = append(rows, mrows...)
	}
	fmt.Printf("%d runs, %d-point series, %d rounds; milliseconds\n\n", *runs, *points, *rounds)
	fmt.Println("| case | min | median | max | goal |")
	fmt.Println("|---|---:|---:|---:|---|")
	for _, r := range rows {
		fmt.Println("| " + strings.Join(r, " | ") + " |")
	}
	return nil
}

// generate writes n runs the way the runner records them (a run.started and
// a run.finished each, in one file for speed) and one more run whose
// out/metrics.jsonl has pts points with spikes; it returns that run's id.
func generate(l *ledger.Ledger, dir string, n, pts int) (string, error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(l.Path())
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	t := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	mlf, err := os.Create(filepath.Join(dir, "runs-mlflow.jsonl"))
	if err != nil {
		return "", err
	}
	emit := func(ev record.Event) {
		b, _ := json.Marshal(ev)
		w.Write(append(b, '\n'))
	}
	exps := []string{"digits-mlp", "cifar-resnet18", "bert-finetune", "gpt-small", "vit-tiny"}
	lrs := []float64{0.1, 0.03, 0.01, 0.003, 0.001}
	exit := 0
	for i := range n {
		id := fmt.Sprintf("019ce1a0-%04x-7000-8000-%012x", i%65536, i)
		t = t.Add(time.Minute)
		params := map[string]any{"seed": float64(i % 5), "train.lr": lrs[rng.IntN(len(lrs))], "train.hidden": float64(int(64) << rng.IntN(3)),
			"train.opt": []string{"adam", "sgd"}[rng.IntN(2)], "train.epochs": 30.0}
		metrics := map[string]float64{"val_accuracy": 0.8 + 0.19*rng.Float64(), "val_loss": rng.Float64()}
		exp := exps[i%len(exps)]
		emit(record.Event{Run: id, Type: record.EventRunStarted, Time: t, Experiment: exp, Params: params, Host: "bench", PID: 1,
			Git: &record.GitBrief{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main"}})
		emit(record.Event{Run: id, Type: record.EventRunFinished, Time: t.Add(50 * time.Second), Status: record.StatusFinished, ExitCode: &exit, Duration: 50, Metrics: metrics})
		b, _ := json.Marshal(map[string]any{"id": id, "experiment": exp, "started": t.UnixMilli(), "status": "finished", "duration_s": 50, "params": params, "metrics": metrics})
		mlf.Write(append(b, '\n'))
	}
	mlf.Close()
	long := "019ce1a0-ffff-7fff-8fff-00000000ffff"
	emit(record.Event{Run: long, Type: record.EventRunStarted, Time: t.Add(time.Hour), Experiment: "long", Params: map[string]any{"seed": 1.0}, Host: "bench", PID: 1})
	emit(record.Event{Run: long, Type: record.EventRunFinished, Time: t.Add(2 * time.Hour), Status: record.StatusFinished, ExitCode: &exit, Duration: 3600, Metrics: map[string]float64{"loss": 0.1}})
	if err := w.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	out := filepath.Join(l.RunDir(long), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	rec, _ := json.Marshal(record.Run{ID: long, Experiment: "long", Status: record.StatusFinished, Started: t.Add(time.Hour), Metrics: map[string]float64{"loss": 0.1}})
	os.WriteFile(filepath.Join(l.RunDir(long), "run.json"), rec, 0o644)
	mf, err := os.Create(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		return "", err
	}
	mw := bufio.NewWriterSize(mf, 1<<20)
	for s := range pts {
		v := 2*math.Exp(-float64(s)/float64(pts)*5) + 0.05*rng.Float64()
		if s%99991 == 0 {
			v += 3 // spikes the chart must show
		}
		fmt.Fprintf(mw, "{\"step\": %d, \"loss\": %.6f}\n", s, v)
	}
	mw.Flush()
	return long, mf.Close()
}

func getOK(u string) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var v any
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return nil
}

func repeat(f func(i int) error) []time.Duration {
	var out []time.Duration
	for i := range *rounds {
		start := time.Now()
		if err := f(i); err != nil {
			fmt.Fprintln(os.Stderr, "bench/ui:", err)
		}
		out = append(out, time.Since(start))
	}
	return out
}

func median(s []time.Duration) time.Duration {
	c := slices.Clone(s)
	slices.Sort(c)
	return c[len(c)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// browserTimes opens the runs page and the long run's page in Chromium,
// each *rounds times in a fresh tab, and reads the page's own clock:
// navigation start to the table in the DOM, and to the curve's canvas
// drawn with its points.
func browserTimes(base, longID string) (page, draw []time.Duration, err error) {
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(os.TempDir(), fmt.Sprintf("bench-ui-chrome-%d", os.Getpid()))),
		chromedp.WindowSize(1400, 1000))
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/#/runs")); err != nil { // warms the browser's own caches
		return nil, nil, err
	}
	measure := func(hash, ready string) ([]time.Duration, error) {
		var out []time.Duration
		for range *rounds {
			if err := chromedp.Do(bctx, chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/"+hash)); err != nil {
				return nil, err
			}
			msv, err := chromedp.Run(bctx, chromedp.Poll[float64]("("+ready+") ? performance.now() : 0", chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
			if err != nil {
				return nil, err
			}
			out = append(out, time.Duration(msv*float64(time.Millisecond)))
		}
		return out, nil
	}
	if page, err = measure("#/runs", `document.querySelectorAll("#runs-table tbody tr").length === 50`); err != nil {
		return nil, nil, err
	}
	draw, err = measure("#/run/"+longID, `document.querySelector("#curves .chart") && Number(document.querySelector("#curves .chart").dataset.points) > 0 && document.querySelector("#curves canvas")`)
	return page, draw, err
}
