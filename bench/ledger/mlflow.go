package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mlflowVenv creates a venv in the work directory with MLflow in it and
// returns its python.
func mlflowVenv(work string) (string, error) {
	venv := filepath.Join(work, "mlflow-venv")
	if err := sh(work, "uv", "venv", "-q", venv); err != nil {
		return "", err
	}
	python := filepath.Join(venv, "bin", "python")
	if err := sh(work, "uv", "pip", "install", "-q", "--python", python, "mlflow"); err != nil {
		return "", err
	}
	return python, nil
}

// mlflowLoad and mlflowQuery are what mlflow_bench.py prints.
type mlflowLoad struct {
	Version         string  `json:"mlflow"`
	ClientRuns      int     `json:"client_runs"`
	ClientRunsPerS  float64 `json:"client_runs_per_s"`
	DirectRuns      int     `json:"direct_runs"`
	DirectS         float64 `json:"direct_s"`
	DirectRunsPerS  float64 `json:"direct_runs_per_s"`
	DBBytes         int64   `json:"db_bytes"`
	ClientS         float64 `json:"client_s"`
	SetupS          float64 `json:"setup_s"`
	ExperimentCount int     `json:"experiments"`
}

type mlflowQuery struct {
	Version   string    `json:"mlflow"`
	ImportS   float64   `json:"import_s"`
	SearchS   []float64 `json:"search_runs_s"`
	PandasS   float64   `json:"mlflow_search_runs_pandas_s"`
	IDs       []string  `json:"ids"`
	MaxRSSKiB int64     `json:"max_rss_kib"`
}

// measureMLflow loads the runs of dir/runs.jsonl into MLflow's SQLite store
// and times search_runs; it also checks that MLflow and magelab find the
// same 20 runs in the same order.
func measureMLflow(o options, repo, bin, python, dir string, sr *sizeResult) error {
	script := filepath.Join(repo, "bench", "ledger", "mlflow_bench.py")
	db := filepath.Join(dir, "mlflow.db")
	fmt.Printf("  loading %d runs into MLflow (%d through MlflowClient) ...\n", sr.Runs, min(o.clientRuns, sr.Runs))
	out, _, err := python3(dir, python, script, "load", "--db", db, "--runs", filepath.Join(dir, "runs.jsonl"), "--client", strconv.Itoa(o.clientRuns))
	if err != nil {
		return err
	}
	sr.MLflowLoad = out
	var ld mlflowLoad
	json.Unmarshal(out, &ld)
	fmt.Printf("  MLflow %s: MlflowClient %.1f runs/s, direct insert %.0f runs/s, store %.0f MB\n", ld.Version, ld.ClientRunsPerS, ld.DirectRunsPerS, float64(ld.DBBytes)/1e6)
	out, proc, err := python3(dir, python, script, "query", "--db", db, "--reps", strconv.Itoa(max(o.reps, 1)))
	if err != nil {
		return err
	}
	sr.MLflowQuery, sr.MLflowProc = out, &proc
	var q mlflowQuery
	if err := json.Unmarshal(out, &q); err != nil {
		return fmt.Errorf("mlflow query output: %w: %s", err, out)
	}
	s := slices.Clone(q.SearchS)
	slices.Sort(s)
	fmt.Printf("  MLflow search_runs: min %.1f median %.1f max %.1f ms; process (import + %d searches) %.1f s, max RSS %.0f MiB\n",
		s[0]*1000, s[len(s)/2]*1000, s[len(s)-1]*1000, len(s), proc.WallMS/1000, float64(proc.MaxRSSKB)/1024)

	cmd := exec.Command(bin, "runs", "-where="+where, "-sort="+sortBy, "-limit=20", "-format=json")
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("runs -format=json: %w", err)
	}
	var ours []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &ours); err != nil {
		return err
	}
	ids := make([]string, len(ours))
	for i, r := range ours {
		ids[i] = r.ID
	}
	same := slices.Equal(ids, q.IDs)
	sr.SameTop20 = &same
	if !same {
		fmt.Printf("  WARNING: magelab and MLflow disagree on the top 20:\n    magelab %v\n    mlflow  %v\n", ids, q.IDs)
	}
	return nil
}

// python3 runs the MLflow script, returning its last stdout line (JSON)
// and its wall time and peak RSS.
func python3(dir, python string, args ...string) ([]byte, sample, error) {
	cmd := exec.Command(python, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t := time.Now()
	err := cmd.Run()
	s := sample{WallMS: float64(time.Since(t).Microseconds()) / 1000}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSSKB = ru.Maxrss
	}
	if err != nil {
		return nil, s, fmt.Errorf("%s %s: %w\n%s", python, strings.Join(args, " "), err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return []byte(lines[len(lines)-1]), s, nil
}

// markdown is the results as the README shows them.
func markdown(rep *report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %s; %d repetitions after a warm-up, each a fresh process; milliseconds.\n\n", rep.Date, rep.Machine, rep.GoVersion, rep.Reps)
	b.WriteString("| runs | ledger | case | magelab min | median | max | peak RSS | MLflow search_runs median | ratio | MLflow process | ratio |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sr := range rep.Sizes {
		var q mlflowQuery
		if sr.MLflowQuery != nil {
			json.Unmarshal(sr.MLflowQuery, &q)
		}
		for i, c := range sr.Cases {
			ml, ratio, proc, pratio := "", "", "", ""
			if i == 0 && len(q.SearchS) > 0 {
				s := slices.Clone(q.SearchS)
				slices.Sort(s)
				med := s[len(s)/2] * 1000
				ml, ratio = fmt.Sprintf("%.0f", med), fmt.Sprintf("%.1f×", med/c.MedMS)
				if sr.MLflowProc != nil {
					// One search in a fresh process: import + first search.
					first := (q.ImportS + q.SearchS[0]) * 1000
					proc, pratio = fmt.Sprintf("%.0f", first), fmt.Sprintf("%.0f×", first/c.MedMS)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %.1f | %.1f | %.1f | %.1f MiB | %s | %s | %s | %s |\n",
				human(sr.Runs), mb(sr.LedgerBytes), c.Case, c.MinMS, c.MedMS, c.MaxMS, float64(c.RSSKiB)/1024, ml, ratio, proc, pratio)
		}
	}
	b.WriteString("\nMLflow stores (SQLite):\n\n| runs | MLflow | MlflowClient (create_run + log_batch + set_terminated) | direct insert | store size | same top 20 as magelab |\n|---:|---|---:|---:|---:|---|\n")
	for _, sr := range rep.Sizes {
		if sr.MLflowLoad == nil {
			continue
		}
		var ld mlflowLoad
		json.Unmarshal(sr.MLflowLoad, &ld)
		same := "?"
		switch {
		case sr.SameTop20 == nil:
		case *sr.SameTop20:
			same = "yes"
		default:
			same = "NO"
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f runs/s (%d runs; %s for all) | %.0f runs/s | %s | %s |\n", human(sr.Runs), ld.Version,
			ld.ClientRunsPerS, ld.ClientRuns, time.Duration(float64(sr.Runs)/ld.ClientRunsPerS*float64(time.Second)).Round(time.Minute), ld.DirectRunsPerS, mb(ld.DBBytes), same)
	}
	return b.String()
}

func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
