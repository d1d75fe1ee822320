package ui

import (
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/report"
)

// Paging of GET /api/runs.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// runsPage is the answer of GET /api/runs: one page of the runs that
// match, and the columns a listing of all of them shows.
type runsPage struct {
	Total    int      `json:"total"`
	Offset   int      `json:"offset"`
	Limit    int      `json:"limit"`
	Params   []string `json:"params"`  // the params that differ across the matching runs
	Metrics  []string `json:"metrics"` // every metric any of them has
	Runs     []apiRun `json:"runs"`
	Warnings []string `json:"warnings,omitempty"`
}

// apiRun is a run as the listing shows it: the shape of `runs -format=json`
// plus its short id.
type apiRun struct {
	report.JSONRun
	Short string `json:"short"`
}

// handleRuns answers GET /api/runs?where=&sort=&limit=&offset=&exp=&sweep=:
// where is the -where language of `go tool mage runs`, sort a field,
// metric or param ("-name" descending).
func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), defaultLimit, 0, maxLimit, "limit")
	if err != nil {
		writeError(w, err)
		return
	}
	offset, err := intParam(q.Get("offset"), 0, 0, 1<<31-1, "offset")
	if err != nil {
		writeError(w, err)
		return
	}
	conds, err := query.ParseWhere(q.Get("where"))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, ECodeBadRequest, "where: "+err.Error()))
		return
	}
	if sort := q.Get("sort"); sort != "" && strings.TrimLeft(sort, "+-") == "" {
		writeError(w, errorf(http.StatusBadRequest, ECodeBadRequest, "sort="+sort+": want NAME (ascending) or -NAME (descending)"))
		return
	}
	lq := query.Query{Experiment: q.Get("exp"), SweepID: q.Get("sweep"), Where: conds, Sort: q.Get("sort")}
	l, err := s.list(lq, q.Get("where"))
	if err != nil {
		writeError(w, err)
		return
	}
	page := runsPage{Total: len(l.runs), Offset: offset, Limit: limit, Params: l.params, Metrics: l.metrics, Warnings: l.warnings, Runs: []apiRun{}}
	end := min(offset+limit, len(l.runs))
	if offset < end {
		// Short ids unique within the page: report.ShortIDs compares every
		// id with every other, too slow for a whole ledger.
		ids := make([]string, 0, end-offset)
		for _, r := range l.runs[offset:end] {
			ids = append(ids, r.ID)
		}
		for i, short := range report.ShortIDs(ids) {
			page.Runs = append(page.Runs, apiRun{JSONRun: report.NewJSONRun(l.runs[offset+i]), Short: short})
		}
	}
	writeJSON(w, page)
}

func intParam(s string, def, lo, hi int, name string) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errorf(http.StatusBadRequest, ECodeBadRequest, name+"="+s+": want a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

// listing is every run that matches a query, in its order, with the
// columns of the whole listing.
type listing struct {
	runs     []record.Summary
	params   []string
	metrics  []string
	warnings []string
}

// list answers q from the cache while the ledger is unchanged: paging
// through a listing reads the ledger once.
func (s *Server) list(q query.Query, where string) (*listing, error) {
	key := strings.Join([]string{q.Experiment, q.SweepID, where, q.Sort}, "\x00")
	stamp, err := s.stamp()
	if err != nil {
		return nil, err
	}
	if l := s.lists.get(key, stamp); l != nil {
		return l, nil
	}
	runs, warnings, err := query.List(s.Ledger, q)
	if err != nil {
		var we *query.WhereError
		if errors.As(err, &we) {
			return nil, errorf(http.StatusBadRequest, ECodeBadRequest, err.Error())
		}
		return nil, err
	}
	l := &listing{runs: runs, warnings: warnings, metrics: report.MetricNames(runs)}
	l.params = []string{}
	if len(runs) > 0 {
		l.params = report.DifferingParams(runs)
	}
	s.lists.put(key, stamp, l)
	return l, nil
}

// stamp is the ledger's state now.
func (s *Server) stamp() (ledgerStamp, error) {
	st, err := os.Stat(s.Ledger.Path())
	if errors.Is(err, os.ErrNotExist) {
		return ledgerStamp{}, nil
	}
	if err != nil {
		return ledgerStamp{}, err
	}
	return ledgerStamp{st.Size(), st.ModTime()}, nil
}

// ledgerStamp tells one state of the ledger file from another: it only
// grows, so its size and modification time change with every append.
type ledgerStamp struct {
	size int64
	mod  time.Time
}

// listCache keeps the listings of the last few queries of one ledger state.
type listCache struct {
	mu    sync.Mutex
	stamp ledgerStamp
	byKey map[string]*listing
	order []string
	max   int
}

func newListCache(max int) *listCache { return &listCache{byKey: map[string]*listing{}, max: max} }

func (c *listCache) get(key string, st ledgerStamp) *listing {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != c.stamp {
		c.stamp, c.byKey, c.order = st, map[string]*listing{}, nil
	}
	return c.byKey[key]
}

func (c *listCache) put(key string, st ledgerStamp, l *listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st != c.stamp {
		return
	}
	if len(c.order) >= c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
	c.byKey[key] = l
	c.order = append(c.order, key)
}
