package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"
)

// mlflowFilter is filterWhere and filterSort in MLflow's search syntax.
const mlflowFilter = "metrics.val_accuracy > 0.9 and params.`train.lr` = '0.01' and attributes.status = 'FINISHED'"

// mlflowTimes loads the same runs into MLflow's SQLite store through
// bench/ledger/mlflow_bench.py, serves it with `mlflow server`, and times
// its search API and its UI's runs page as run() times magelab's.
func mlflowTimes(dir string, ours [][]string) ([][]string, error) {
	db := filepath.Join(dir, "mlflow.db")
	load := exec.Command(*mlflowPy, "bench/ledger/mlflow_bench.py", "load", "--db", db, "--runs", filepath.Join(dir, "runs-mlflow.jsonl"), "--client", strconv.Itoa(*clientN))
	load.Stderr = os.Stderr
	start := time.Now()
	if out, err := load.Output(); err != nil {
		return nil, fmt.Errorf("load: %w: %s", err, out)
	}
	fmt.Fprintf(os.Stderr, "bench/ui: mlflow store loaded in %s\n", time.Since(start).Round(time.Second))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, *mlflowPy, "-m", "mlflow", "server", "--backend-store-uri", "sqlite:///"+db,
		"--default-artifact-root", filepath.Join(dir, "mlartifacts"), "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer srv.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if res, err := http.Get(base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("mlflow server did not answer /health in 2 minutes")
		}
	}
	exps, err := mlflowExperiments(base)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"experiment_ids": exps, "filter": mlflowFilter, "order_by": []string{"metrics.val_accuracy DESC"}, "max_results": 50})
	search := repeat(func(int) error {
		res, err := http.Post(base+"/api/2.0/mlflow/runs/search", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
			return fmt.Errorf("mlflow search: %s %v", res.Status, err)
		}
		return nil
	})
	rows := [][]string{{"MLflow API: runs/search, same filter+sort", ms(minOf(search)), ms(median(search)), ms(maxOf(search)), ratio(ours[0][2], median(search))}}
	page, err := mlflowPage(base, exps[0])
	if err != nil {
		return rows, fmt.Errorf("mlflow UI: %w", err)
	}
	return append(rows, []string{"MLflow UI: an experiment's runs page interactive", ms(minOf(page)), ms(median(page)), ms(maxOf(page)), "see ratio in docs"}), nil
}

func ratio(ourMedian string, theirs time.Duration) string {
	var m float64
	fmt.Sscan(ourMedian, &m)
	if m <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f× magelab's uncached median", float64(theirs.Microseconds())/1000/m)
}

func minOf(s []time.Duration) time.Duration { return slices.Min(s) }

func maxOf(s []time.Duration) time.Duration { return slices.Max(s) }

func mlflowExperiments(base string) ([]string, error) {
	body, _ := json.Marshal(map[string]any{"max_results": 100})
	res, err := http.Post(base+"/api/2.0/mlflow/experiments/search", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var v struct {
		Experiments []struct {
			ID   string `json:"experiment_id"`
			Name string `json:"name"`
		} `json:"experiments"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range v.Experiments {
		if e.Name != "Default" {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no experiments in the mlflow store")
	}
	return ids, nil
}

// mlflowPage times MLflow's runs page of one experiment until its grid
// shows rows.
func mlflowPage(base, exp string) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(os.TempDir(), fmt.Sprintf("bench-ui-mlflow-%d", os.Getpid()))),
		chromedp.WindowSize(1400, 1000))
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	url := base + "/#/experiments/" + exp
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		return nil, err
	}
	ready := `document.querySelectorAll(".ag-row, [role=row]").length > 20`
	var out []time.Duration
	for range *rounds {
		if err := chromedp.Do(bctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url)); err != nil {
			return nil, err
		}
		msv, err := chromedp.Run(bctx, chromedp.Poll[float64]("("+ready+") ? performance.now() : 0", chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
		if err != nil {
			return nil, err
		}
		out = append(out, time.Duration(msv*float64(time.Millisecond)))
	}
	return out, nil
}
