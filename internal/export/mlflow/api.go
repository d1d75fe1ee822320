package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The wire types of MLflow's REST API, as much of them as an export uses.

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type metric struct {
	Key       string    `json:"key"`
	Value     flexFloat `json:"value"`
	Timestamp flexInt   `json:"timestamp"`
	Step      flexInt   `json:"step"`
}

type runInfo struct {
	RunID          string  `json:"run_id"`
	ExperimentID   string  `json:"experiment_id"`
	RunName        string  `json:"run_name"`
	Status         string  `json:"status"`
	StartTime      flexInt `json:"start_time"`
	EndTime        flexInt `json:"end_time"`
	ArtifactURI    string  `json:"artifact_uri"`
	LifecycleStage string  `json:"lifecycle_stage"`
}

type runData struct {
	Metrics []metric `json:"metrics"`
	Params  []kv     `json:"params"`
	Tags    []kv     `json:"tags"`
}

type run struct {
	Info runInfo `json:"info"`
	Data runData `json:"data"`
	// created says this export made the run, and has sent it nothing
	// since: nothing of it needs to be asked for.
	created bool
}

type experiment struct {
	ID               string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
}

type fileInfo struct {
	Path     string  `json:"path"`
	IsDir    bool    `json:"is_dir"`
	FileSize flexInt `json:"file_size"`
}

// flexInt is an int64 the server may write as a number or, as protobuf's
// JSON does for 64-bit integers, a string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	*n = flexInt(v)
	return err
}

// flexFloat is a float64 the server may write as "NaN" or "Infinity".
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	switch s := strings.Trim(string(b), `"`); s {
	case "NaN":
		*f = flexFloat(math.NaN())
	case "Infinity":
		*f = flexFloat(math.Inf(1))
	case "-Infinity":
		*f = flexFloat(math.Inf(-1))
	default:
		v, err := strconv.ParseFloat(s, 64)
		*f = flexFloat(v)
		return err
	}
	return nil
}

// experimentByName is the experiment called name, or nil when there is
// none.
func (c *client) experimentByName(ctx context.Context, name string) (*experiment, error) {
	var out struct {
		Experiment experiment `json:"experiment"`
	}
	err := c.api(ctx, call{method: http.MethodGet, endpoint: "experiments/get-by-name", query: url.Values{"experiment_name": {name}}, out: &out})
	var ae *APIError
	if errors.As(err, &ae) && ae.NotFound() {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.Experiment, nil
}

// createExperiment creates the experiment called name and returns its id.
func (c *client) createExperiment(ctx context.Context, name string) (string, error) {
	var out struct {
		ID string `json:"experiment_id"`
	}
	err := c.api(ctx, call{method: http.MethodPost, endpoint: "experiments/create", in: map[string]string{"name": name}, out: &out})
	return out.ID, err
}

// searchRuns returns every run of the experiment that matches filter,
// deleted ones included, following the pages.
func (c *client) searchRuns(ctx context.Context, experimentID, filter string) ([]run, error) {
	var all []run
	token := ""
	for {
		in := map[string]any{"experiment_ids": []string{experimentID}, "filter": filter, "run_view_type": "ALL", "max_results": searchPage}
		if token != "" {
			in["page_token"] = token
		}
		var out struct {
			Runs  []run  `json:"runs"`
			Token string `json:"next_page_token"`
		}
		if err := c.api(ctx, call{method: http.MethodPost, endpoint: "runs/search", in: in, out: &out}); err != nil {
			return nil, err
		}
		all = append(all, out.Runs...)
		if out.Token == "" || len(out.Runs) == 0 {
			return all, nil
		}
		token = out.Token
	}
}

// searchPage is how many runs one search request asks for (MLflow's
// default page; its limit is 50,000).
const searchPage = 1000

// createRunOnce creates a run with its name, start time (Unix ms) and
// tags, in one attempt: a retry could create it twice (see
// exporter.create).
func (c *client) createRunOnce(ctx context.Context, experimentID, name string, start int64, tags []kv) (*run, error) {
	var out struct {
		Run run `json:"run"`
	}
	in := map[string]any{"experiment_id": experimentID, "run_name": name, "start_time": start, "tags": orEmpty(tags)}
	if err := c.api(ctx, call{method: http.MethodPost, endpoint: "runs/create", in: in, out: &out, once: true}); err != nil {
		return nil, err
	}
	return &out.Run, nil
}

// updateRun sets a run's status and end time (Unix ms; 0 leaves it).
func (c *client) updateRun(ctx context.Context, runID, status string, end int64) error {
	in := map[string]any{"run_id": runID, "status": status}
	if end > 0 {
		in["end_time"] = end
	}
	return c.api(ctx, call{method: http.MethodPost, endpoint: "runs/update", in: in})
}

// logBatch sends one batch: within MLflow's limits (see batches).
func (c *client) logBatch(ctx context.Context, runID string, b batch) error {
	in := map[string]any{"run_id": runID, "metrics": orEmpty(b.Metrics), "params": orEmpty(b.Params), "tags": orEmpty(b.Tags)}
	return c.api(ctx, call{method: http.MethodPost, endpoint: "runs/log-batch", in: in})
}

// orEmpty is s, or an empty list for nil: MLflow refuses null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// metricHistory is every value logged for key in the run.
func (c *client) metricHistory(ctx context.Context, runID, key string) ([]metric, error) {
	var all []metric
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "metric_key": {key}}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Metrics []metric `json:"metrics"`
			Token   string   `json:"next_page_token"`
		}
		if err := c.api(ctx, call{method: http.MethodGet, endpoint: "metrics/get-history", query: q, out: &out}); err != nil {
			return nil, err
		}
		all = append(all, out.Metrics...)
		if out.Token == "" || len(out.Metrics) == 0 {
			return all, nil
		}
		token = out.Token
	}
}

// listArtifacts lists the run's artifacts directly under dir ("" for the
// root), with paths relative to the run's artifact root.
func (c *client) listArtifacts(ctx context.Context, runID, dir string) ([]fileInfo, error) {
	var all []fileInfo
	token := ""
	for {
		q := url.Values{"run_id": {runID}}
		if dir != "" {
			q.Set("path", dir)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Files []fileInfo `json:"files"`
			Token string     `json:"next_page_token"`
		}
		if err := c.api(ctx, call{method: http.MethodGet, endpoint: "artifacts/list", query: q, out: &out}); err != nil {
			return nil, err
		}
		all = append(all, out.Files...)
		if out.Token == "" || len(out.Files) == 0 {
			return all, nil
		}
		token = out.Token
	}
}

// upload PUTs one file through the server's proxied artifact API at path
// (the run's artifact root's path, then the file's). open gives a fresh
// body for each attempt.
func (c *client) upload(ctx context.Context, path string, open func() (io.ReadCloser, int64, error)) error {
	u := c.url("/api/2.0/mlflow-artifacts/artifacts/"+path, nil)
	return c.retry(ctx, "mlflow-artifacts upload "+path, 0, func(ctx context.Context) (*http.Request, error) {
		body, size, err := open()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
		if err != nil {
			body.Close()
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		return req, nil
	}, nil)
}

// artifactPath is where the proxied artifact API keeps a run's artifacts:
// the path of its artifact URI ("mlflow-artifacts:/1/<run>/artifacts", or
// an http(s) URI of this server's mlflow-artifacts route). ok is false for
// any other store (s3://, a local path): the server does not proxy it.
func artifactPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", false
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		return strings.Trim(u.Path, "/"), true
	case "http", "https":
		const anchor = "/api/2.0/mlflow-artifacts/artifacts/"
		if _, rest, ok := strings.Cut(u.Path, anchor); ok {
			return strings.Trim(rest, "/"), true
		}
	}
	return "", false
}

// proxiedArtifacts says why an experiment's artifacts cannot go through
// the server, or "" when they can.
func proxiedArtifacts(e *experiment) string {
	if _, ok := artifactPath(e.ArtifactLocation + "/x"); ok {
		return ""
	}
	return fmt.Sprintf("the MLflow experiment %q keeps its artifacts at %s, which the server does not proxy: start the server with --serve-artifacts (the default) before creating the experiment, or export with -artifacts=none", e.Name, e.ArtifactLocation)
}
