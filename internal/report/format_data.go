package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// The machine-readable listings: csv and json.

// writeCSV writes a header and one row per run with all params and metrics
// at full precision.
func writeCSV(w io.Writer, runs []record.Summary) error {
	params := paramNames(runs)
	metrics := MetricNames(runs)
	cw := csv.NewWriter(w)
	head := []string{"id", "experiment", "sweep", "status", "exit_code", "started", "duration_s", "sha", "branch", "dirty", "host", "gpu"}
	for _, p := range params {
		head = append(head, "params."+p)
	}
	for _, m := range metrics {
		head = append(head, "metrics."+m)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range runs {
		started := ""
		if !r.Started.IsZero() {
			started = r.Started.UTC().Format(time.RFC3339Nano)
		}
		var sha, branch, dirty string
		if r.Git != nil {
			sha, branch, dirty = r.Git.SHA, r.Git.Branch, strconv.FormatBool(r.Git.Dirty)
		}
		row := []string{r.ID, r.Experiment, r.SweepID, string(r.Status), strconv.Itoa(r.ExitCode), started,
			strconv.FormatFloat(r.Duration, 'f', -1, 64), sha, branch, dirty, r.Host, r.GPU}
		for _, p := range params {
			v, ok := r.Params[p]
			row = append(row, cell(ok, func() string { return formatValue(v) }))
		}
		for _, m := range metrics {
			v, ok := r.Metrics[m]
			row = append(row, cell(ok, func() string { return strconv.FormatFloat(v, 'g', -1, 64) }))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// JSONRun is a run in a json listing (and in the web UI's API).
type JSONRun struct {
	ID         string             `json:"id"`
	Experiment string             `json:"experiment"`
	SweepID    string             `json:"sweep,omitempty"`
	Key        string             `json:"key,omitempty"`
	Status     record.Status      `json:"status"`
	ExitCode   int                `json:"exit_code"`
	Error      string             `json:"error,omitempty"`
	Started    *time.Time         `json:"started,omitempty"`
	Duration   float64            `json:"duration_s"`
	Git        *record.GitBrief   `json:"git,omitempty"`
	GPU        string             `json:"gpu,omitempty"`
	Host       string             `json:"host,omitempty"`
	PID        int                `json:"pid,omitempty"`
	Slurm      string             `json:"slurm,omitempty"`
	Reproduces string             `json:"reproduces,omitempty"`
	Verdict    string             `json:"verdict,omitempty"`
	Params     map[string]any     `json:"params"`
	Metrics    map[string]float64 `json:"metrics"`
}

// NewJSONRun is r as a json listing writes it: times in UTC, empty maps
// rather than null.
func NewJSONRun(r record.Summary) JSONRun {
	j := JSONRun{ID: r.ID, Experiment: r.Experiment, SweepID: r.SweepID, Key: r.Key, Status: r.Status,
		ExitCode: r.ExitCode, Error: r.Error, Duration: r.Duration, Git: r.Git, GPU: r.GPU, Host: r.Host, PID: r.PID,
		Slurm: r.Slurm, Reproduces: r.Reproduces, Verdict: r.Verdict, Params: r.Params, Metrics: r.Metrics}
	if !r.Started.IsZero() {
		t := r.Started.UTC()
		j.Started = &t
	}
	if j.Params == nil {
		j.Params = map[string]any{}
	}
	if j.Metrics == nil {
		j.Metrics = map[string]float64{}
	}
	return j
}

func writeJSON(w io.Writer, runs []record.Summary) error {
	out := make([]JSONRun, len(runs))
	for i, r := range runs {
		out[i] = NewJSONRun(r)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode runs: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
