package ui

import (
	"errors"
	"io/fs"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sync"

	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

// runDetail is the answer of GET /api/runs/{id}: the record (run.json, with
// the status the ledger tells) and what the page shows beside it.
type runDetail struct {
	Run     *record.Run  `json:"run"`
	Short   string       `json:"short"`
	Metrics []metricStat `json:"metrics"` // every metric, final or logged, by name
	Series  []string     `json:"series"`  // the metrics with step curves (out/metrics.jsonl)
	Logs    []fileInfo   `json:"logs"`    // logs/*, by name
	Files   []fileInfo   `json:"files"`   // the run's other recorded files: git.patch, pip-freeze.txt, params.yaml, gpu.csv
	GPU     bool         `json:"gpu_samples"`
	Sweep   *sweepBrief  `json:"sweep,omitempty"`
	// Warnings are what the ledger or the files could not tell.
	Warnings []string `json:"warnings,omitempty"`
}

// metricStat sums up one metric: its final value (metrics.json, or the
// last logged), and over its logged steps the last, min and max and the
// step of the best (lowest or highest, as Goal says).
type metricStat struct {
	Name     string   `json:"name"`
	Final    *float64 `json:"final,omitempty"`
	Points   int      `json:"points"`
	Last     *float64 `json:"last,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Best     *float64 `json:"best,omitempty"`
	BestStep *float64 `json:"best_step,omitempty"`
	Goal     string   `json:"goal"` // "min" or "max"
}

type fileInfo struct {
	Name string `json:"name"`
	Path string `json:"path"` // relative to the run's directory: /api/runs/{id}/files/{path}
	Size int64  `json:"size"`
}

type sweepBrief struct {
	ID     string `json:"id"`
	Metric string `json:"metric,omitempty"`
	Goal   string `json:"goal,omitempty"`
}

// runIDPattern is what a run id the ledger hands out looks like; anything
// else is never joined to a path.
var runIDPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]*$`)

// record resolves a short id to its record, from the cache while the
// ledger is unchanged (a run page asks for the same run several times).
func (s *Server) record(short string) (*record.Run, error) {
	stamp, err := s.stamp()
	if err != nil {
		return nil, err
	}
	if r := s.records.get(short, stamp); r != nil {
		return r, nil
	}
	r, err := s.resolve(short)
	if err == nil {
		s.records.put(short, stamp, r)
	}
	return r, err
}

func (s *Server) resolve(short string) (*record.Run, error) {
	runs, _, _, err := query.Records(s.Ledger, short)
	var ie *query.IDError
	switch {
	case errors.As(err, &ie) && ie.Ambiguous():
		return nil, errorf(http.StatusBadRequest, ECodeAmbiguous, err.Error())
	case errors.As(err, &ie):
		return nil, errorf(http.StatusNotFound, ECodeNotFound, err.Error())
	case err != nil:
		return nil, err
	}
	if !runIDPattern.MatchString(runs[0].ID) || runs[0].ID == "." || runs[0].ID == ".." {
		return nil, errorf(http.StatusForbidden, ECodeForbidden, "run id "+runs[0].ID+" is not one a run directory can have")
	}
	return runs[0], nil
}

// openRun opens the run's directory as a root: nothing opened through it
// leaves it, by .. or by a symlink.
func (s *Server) openRun(id string) (*os.Root, error) {
	root, err := os.OpenRoot(s.Ledger.RunDir(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(http.StatusNotFound, ECodeNotFound, "run "+id+" has no directory here (imported from a ledger alone?)")
	}
	return root, err
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	d, err := s.runDetail(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, d)
}

func (s *Server) runDetail(short string) (*runDetail, error) {
	rec, err := s.record(short)
	if err != nil {
		return nil, err
	}
	d := &runDetail{Run: rec, Short: record.ShortID(rec.ID), Metrics: []metricStat{}, Series: []string{}, Logs: []fileInfo{}, Files: []fileInfo{}}
	if rec.SweepID != "" {
		d.Sweep = &sweepBrief{ID: rec.SweepID}
		if ev, ok, err := query.SweepStarted(s.Ledger, rec.SweepID); err == nil && ok {
			d.Sweep.Metric, d.Sweep.Goal = ev.SweepMetric(), goalOf(ev)
		}
	}
	root, err := s.openRun(rec.ID)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			d.Warnings = append(d.Warnings, e.Message)
			d.Metrics = stats(rec.Metrics, nil, nil, d.Sweep)
			return d, nil
		}
		return nil, err
	}
	defer root.Close()
	names, cols, err := s.columns(root, rec.ID, nil)
	if err != nil {
		d.Warnings = append(d.Warnings, "out/metrics.jsonl: "+err.Error())
	}
	d.Series = append(d.Series, names...)
	d.Metrics = stats(rec.Metrics, names, cols, d.Sweep)
	d.Logs = listDir(root, "logs")
	for _, f := range []string{"git.patch", "pip-freeze.txt", "params.yaml", "gpu.csv", "run.json"} {
		if st, err := root.Stat(f); err == nil && st.Mode().IsRegular() {
			d.Files = append(d.Files, fileInfo{Name: f, Path: f, Size: st.Size()})
			d.GPU = d.GPU || f == "gpu.csv"
		}
	}
	return d, nil
}

// listDir lists the regular files of dir inside root.
func listDir(root *os.Root, dir string) []fileInfo {
	out := []fileInfo{}
	f, err := root.Open(dir)
	if err != nil {
		return out
	}
	defer f.Close()
	ents, _ := f.ReadDir(-1)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			out = append(out, fileInfo{Name: e.Name(), Path: dir + "/" + e.Name(), Size: info.Size()})
		}
	}
	slices.SortFunc(out, func(a, b fileInfo) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// columns reads the run's metric series (out/metrics.jsonl) through the
// cache.
func (s *Server) columns(root *os.Root, id string, names []string) ([]string, map[string]column, error) {
	f := s.series.get(id + "/out/metrics.jsonl")
	defer f.mu.Unlock()
	err := f.read(openIn(root, "out/metrics.jsonl"))
	kept, cols := f.snapshot(names)
	return kept, cols, err
}

// stats sums up the final metrics and the logged series, by name.
func stats(final map[string]float64, names []string, cols map[string]column, sw *sweepBrief) []metricStat {
	all := slices.Clone(names)
	for n := range final {
		if !slices.Contains(all, n) {
			all = append(all, n)
		}
	}
	slices.Sort(all)
	out := make([]metricStat, 0, len(all))
	for _, n := range all {
		m := metricStat{Name: n, Goal: goalFor(n, sw)}
		if v, ok := final[n]; ok {
			m.Final = ptr(v)
		}
		if c, ok := cols[n]; ok {
			m.summarize(c)
		}
		out = append(out, m)
	}
	return out
}

func (m *metricStat) summarize(c column) {
	m.Points = len(c.y)
	best := -1
	for i, v := range c.y {
		if math.IsNaN(v) {
			continue
		}
		m.Last = ptr(v)
		if m.Min == nil || v < *m.Min {
			m.Min = ptr(v)
		}
		if m.Max == nil || v > *m.Max {
			m.Max = ptr(v)
		}
		if best < 0 || (m.Goal == "min" && v < c.y[best]) || (m.Goal == "max" && v > c.y[best]) {
			best = i
		}
	}
	if best >= 0 {
		m.Best, m.BestStep = ptr(c.y[best]), ptr(c.x[best])
	}
	if m.Final == nil && m.Last != nil {
		m.Final = m.Last
	}
}

func ptr(v float64) *float64 { return &v }

// recordCache keeps the records resolved in one ledger state. A record
// whose run is still going can change without the ledger changing (its
// run.json is rewritten at the end, with the ledger's run.finished), so it
// follows the ledger's stamp.
type recordCache struct {
	mu    sync.Mutex
	stamp ledgerStamp
	by    map[string]*record.Run
}

func (c *recordCache) get(short string, st ledgerStamp) *record.Run {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != c.stamp || c.by == nil {
		c.stamp, c.by = st, map[string]*record.Run{}
	}
	return c.by[short]
}

func (c *recordCache) put(short string, st ledgerStamp, r *record.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == c.stamp && len(c.by) < 1024 {
		c.by[short] = r
	}
}
