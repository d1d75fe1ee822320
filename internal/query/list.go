package query

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// Query selects runs from the ledger.
type Query struct {
	Experiment string // only this experiment's runs ("": all)
	SweepID    string // only this sweep's trials ("": all)
	Where      []Cond // all must hold (ParseWhere)
	// Sort is the order: "" is newest first (the order in which runs were
	// recorded, so an imported run sits where it was merged); "name" sorts
	// by a field, metric or param ascending and "-name" descending. Runs
	// without the value come last either way; ties go newest first.
	Sort  string
	Limit int // at most this many runs; 0: all
}

// List returns the runs that match q, in q's order, and warnings: lines
// that could not be read, names no run has.
//
// It reads the ledger backwards, in blocks. A run's run.started is its
// first event, so going backwards its latest events come first: they are
// kept in a pending entry (status, and only the metrics the query names)
// until its run.started completes it. Memory therefore follows the number
// of runs that overlap in time, not the ledger's length. Newest first with
// a limit stops as soon as that many runs match; a sort keeps a heap of the
// best Limit runs, and a run whose known metrics already rule it out (by a
// condition or against the heap) is dropped before its run.started is
// decoded. Only the runs returned are decoded fully, from their lines, with
// the same fold as Summaries.
//
// A run whose run.started is missing (a partial import) is listed with what
// its other events tell, where its earliest event lies; since that is only
// known at the start of the ledger, a newest-first listing that stops early
// leaves such runs out.
func List(l *ledger.Ledger, q Query) ([]record.Summary, []string, error) {
	runs, warnings, _, err := list(l, q, nil)
	return runs, warnings, err
}

// list is List with a hook called after each block (tests sample memory
// there), and the number of blocks it read.
func list(l *ledger.Ledger, q Query, hook func()) ([]record.Summary, []string, int, error) {
	pl, err := compile(q)
	if err != nil {
		return nil, nil, 0, err
	}
	f, err := os.Open(l.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, 0, nil
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	ls := newLister(pl, l.Path())
	ls.memHook = hook
	if err := readChunks(f, pl, runtime.GOMAXPROCS(0), ls.chunk); err != nil {
		return nil, ls.warnings, ls.blocks, err
	}
	ls.eof()
	runs, warnings := ls.materialize(f)
	return runs, append(ls.warnings, warnings...), ls.blocks, nil
}

// lister is the state of one List: the runs pending their run.started, the
// runs already ruled out, and the runs kept.
type lister struct {
	pl       *plan
	name     string
	pending  map[string]*pend
	rejected map[string]struct{}
	free     []*pend
	scratch  *pend
	v        lineVals
	kept     cands // newest first: in order; sorted: a heap, worst on top
	done     bool
	warnings []string
	head     []byte // the end of a line whose start is in a block not read yet
	long     int    // > 0: that line is longer than record.MaxEventLine, and this much of it was dropped
	stitch   []byte
	memHook  func() // tests: called after each block
	blocks   int    // blocks read
}

// pend is what is known of a run whose run.started has not been read yet.
type pend struct {
	refs     []lineRef
	first    int64 // offset of its earliest line read so far
	finished bool
	status   record.Status
	duration float64
	metric   []float64
	has      []bool
}

func newLister(pl *plan, name string) *lister {
	ls := &lister{pl: pl, name: name, pending: map[string]*pend{}, rejected: map[string]struct{}{}}
	ls.v.init(len(pl.slots))
	ls.scratch = ls.newPend()
	ls.kept.pl = pl
	return ls
}

func (ls *lister) newPend() *pend {
	if n := len(ls.free); n > 0 {
		p := ls.free[n-1]
		ls.free = ls.free[:n-1]
		return p
	}
	k := len(ls.pl.slots)
	return &pend{metric: make([]float64, k), has: make([]bool, k)}
}

func (ls *lister) recycle(p *pend) {
	p.refs = p.refs[:0]
	p.finished, p.status, p.duration = false, "", 0
	clear(p.has)
	if p != ls.scratch {
		ls.free = append(ls.free, p)
	}
}

// chunk handles a block of lines, newest first; it returns false to stop.
func (ls *lister) chunk(c *chunk) bool {
	ls.blocks++
	if c.whole {
		if ls.long == 0 && len(ls.head)+len(c.data) <= record.MaxEventLine {
			ls.head = slices.Concat(c.data, ls.head)
		} else {
			ls.long += len(ls.head) + len(c.data)
			ls.head = ls.head[:0]
		}
		return true
	}
	for i, ok := range c.seen {
		if ok {
			ls.v.see(i)
		}
	}
	if n := ls.long + len(c.tail) + len(ls.head); c.k > 0 && (ls.long > 0 || n > record.MaxEventLine) {
		ls.warnings = append(ls.warnings, fmt.Sprintf("%s: byte %d: skipped a line of %d bytes, longer than a ledger line may be (%d)", ls.name, c.start+int64(len(c.data)-len(c.tail)), n, record.MaxEventLine))
		ls.long = 0
	} else if c.k > 0 { // the line at the block's end, whose end the block after holds
		ls.stitch = append(append(ls.stitch[:0], c.tail...), ls.head...)
		line := bytes.TrimLeft(ls.stitch, " \t\r\n")
		off := c.start + int64(len(c.data)-len(c.tail)+len(ls.stitch)-len(line))
		if line = bytes.TrimRight(line, " \t\r\n"); len(line) > 0 && !ls.line(line, off) {
			return false
		}
	}
	for _, r := range c.recs {
		b, off := c.data[r.lo:r.hi], c.start+int64(r.lo)
		more := true
		switch r.kind {
		case recBad:
			ls.unreadable(off)
		case recStarted:
			more = ls.line(b, off)
		case recDecoded:
			more = ls.event(&c.vals[r.val], off, len(b))
		}
		if !more {
			return false
		}
	}
	ls.head = append(ls.head[:0], c.head...)
	if ls.memHook != nil {
		ls.memHook()
	}
	return true
}

// line handles one line, newest first, decoding it; it returns false to
// stop reading.
func (ls *lister) line(b []byte, off int64) bool {
	if id, typ, ok := peekRun(b); ok && typ != nil && b[len(b)-1] == '}' && ls.skip(id, typ, b) {
		return true
	}
	v := &ls.v
	v.reset()
	if !ls.pl.parse(b, v) || len(v.id) == 0 {
		ls.unreadable(off)
		return true
	}
	return ls.event(v, off, len(b))
}

func (ls *lister) unreadable(off int64) {
	ls.warnings = append(ls.warnings, fmt.Sprintf("%s: byte %d: skipped an unreadable line (a write cut short by a crash?)", ls.name, off))
}

// skip reports whether a line belongs to a run already ruled out, so that
// it need not be decoded; the run's run.started ends its entry.
func (ls *lister) skip(id, typ, line []byte) bool {
	if _, gone := ls.rejected[string(id)]; !gone {
		return false
	}
	if string(typ) == record.EventRunStarted {
		delete(ls.rejected, string(id))
	}
	if ls.v.unseen > 0 {
		ls.v.glance(ls.pl, line)
	}
	return true
}

// event handles a decoded line; it returns false to stop reading.
func (ls *lister) event(v *lineVals, off int64, n int) bool {
	if len(v.typ) < 4 || string(v.typ[:4]) != "run." || ls.skip(v.id, v.typ, nil) {
		return true
	}
	started := string(v.typ) == record.EventRunStarted
	p, known := ls.pending[string(v.id)]
	if !known {
		if started {
			p = ls.scratch
		} else {
			p = ls.newPend()
			ls.pending[string(v.id)] = p
		}
	}
	p.refs = append(p.refs, lineRef{off: off, n: int32(n)})
	p.first = off
	p.merge(v)
	if !started {
		if ls.ruledOut(p, v.id) {
			ls.rejected[string(v.id)] = struct{}{}
			delete(ls.pending, string(v.id))
			ls.recycle(p)
		}
		return true
	}
	if known {
		delete(ls.pending, string(v.id))
	}
	ls.complete(row{id: v.id, p: p, v: v})
	ls.recycle(p)
	return !ls.done
}

// merge folds a line into the pending run. Lines come newest first, so
// what is already known wins: the latest run.finished, the latest value of
// each metric.
func (p *pend) merge(v *lineVals) {
	if !p.finished && string(v.typ) == record.EventRunFinished {
		p.finished, p.status, p.duration = true, internStatus(v.status), v.duration
	}
	for i, ok := range v.hasMetric {
		if ok && !p.has[i] {
			p.has[i], p.metric[i] = true, v.metric[i]
		}
	}
}

func internStatus(b []byte) record.Status {
	for _, s := range []record.Status{record.StatusFinished, record.StatusFailed, record.StatusInterrupted, record.StatusRunning, record.StatusCrashed, record.StatusPreempted} {
		if string(b) == string(s) {
			return s
		}
	}
	return record.Status(b)
}

// ruledOut reports whether a pending run can already be dropped: a
// condition on what is final fails, or the heap is full of better runs.
func (ls *lister) ruledOut(p *pend, id []byte) bool {
	r := row{id: id, p: p}
	for i := range ls.pl.conds {
		c := &ls.pl.conds[i]
		if c.ref.final(p) && !c.match(r.value(c.ref, ls.pl)) {
			return true
		}
	}
	if !ls.pl.sorted || ls.pl.limit == 0 || len(ls.kept.c) < ls.pl.limit || !ls.pl.sort.final(p) {
		return false
	}
	// Ties go to the newer run, and every kept run is newer than this one.
	return !ls.pl.better(r.value(ls.pl.sort, ls.pl), ls.kept.c[0].key)
}

// complete tests a run whose events are all read and keeps it if it matches.
func (ls *lister) complete(r row) {
	if !ls.matches(&r) {
		return
	}
	c := &cand{id: string(r.id), pos: r.p.first, refs: slices.Clone(r.p.refs)}
	if ls.pl.sorted {
		c.key = r.value(ls.pl.sort, ls.pl).own()
	}
	ls.keep(c)
}

func (ls *lister) matches(r *row) bool {
	pl := ls.pl
	r.status = r.p.status
	if r.v != nil && !r.p.finished {
		r.status = record.StatusRunning
		if ledger.Crashed(record.Summary{Status: record.StatusRunning, Host: string(r.v.host), PID: int(r.v.pid), PIDStart: r.v.pidStart}) {
			r.status = record.StatusCrashed
		}
	}
	if pl.q.Experiment != "" && (r.v == nil || string(r.v.experiment) != pl.q.Experiment) {
		return false
	}
	if pl.q.SweepID != "" && (r.v == nil || string(r.v.sweep) != pl.q.SweepID) {
		return false
	}
	for i := range pl.conds {
		c := &pl.conds[i]
		if !c.match(r.value(c.ref, pl)) {
			return false
		}
	}
	return true
}

func (ls *lister) keep(c *cand) {
	pl := ls.pl
	if !pl.sorted {
		ls.kept.c = append(ls.kept.c, c)
		ls.done = pl.limit > 0 && len(ls.kept.c) >= pl.limit
		return
	}
	if pl.limit == 0 || len(ls.kept.c) < pl.limit {
		heap.Push(&ls.kept, c)
		return
	}
	if ls.kept.less(ls.kept.c[0], c) {
		ls.kept.c[0] = c
		heap.Fix(&ls.kept, 0)
	}
}

// eof completes the runs whose run.started never came, with what is known.
func (ls *lister) eof() {
	if ls.done {
		return
	}
	ids := make([]string, 0, len(ls.pending))
	for id := range ls.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var orphans []*cand
	before := len(ls.kept.c)
	for _, id := range ids {
		p := ls.pending[id]
		ls.complete(row{id: []byte(id), p: p})
	}
	if !ls.pl.sorted {
		// Newest first is by position: put the orphans where they lie.
		orphans = ls.kept.c[before:]
		kept := ls.kept.c[:before:before]
		for _, o := range orphans {
			i, _ := slices.BinarySearchFunc(kept, o.pos, func(c *cand, pos int64) int {
				switch {
				case c.pos > pos:
					return -1
				case c.pos < pos:
					return 1
				}
				return 0
			})
			kept = slices.Insert(kept, i, o)
		}
		if ls.pl.limit > 0 && len(kept) > ls.pl.limit {
			kept = kept[:ls.pl.limit]
		}
		ls.kept.c = kept
	}
}

// materialize decodes the kept runs fully from their lines, in order.
func (ls *lister) materialize(f *os.File) ([]record.Summary, []string) {
	kept := ls.kept.c
	if ls.pl.sorted {
		slices.SortFunc(kept, func(a, b *cand) int {
			switch {
			case ls.kept.less(b, a):
				return -1
			case ls.kept.less(a, b):
				return 1
			}
			return 0
		})
	}
	out := make([]record.Summary, 0, len(kept))
	var warnings []string
	var buf []byte
	for _, c := range kept {
		s, w := summarize(f, c.id, c.refs, buf)
		warnings = append(warnings, w...)
		out = append(out, s)
	}
	return out, append(warnings, ls.pl.unknownNames(ls.v.seen)...)
}

// summarize folds a run's lines, read again, into its summary.
func summarize(f *os.File, id string, refs []lineRef, buf []byte) (record.Summary, []string) {
	slices.SortFunc(refs, func(a, b lineRef) int { return int(a.off - b.off) })
	s := record.Summary{ID: id, Metrics: map[string]float64{}}
	var warnings []string
	for _, r := range refs {
		line, err := readLine(f, r, buf)
		var ev record.Event
		if err == nil {
			err = json.Unmarshal(line, &ev)
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: byte %d: skipped an unreadable line: %v", f.Name(), r.off, err))
			continue
		}
		ledger.Apply(&s, ev)
	}
	if ledger.Crashed(s) {
		s.Status = record.StatusCrashed
	}
	return s, warnings
}

// cand is a run that matched, with its lines to decode it from.
type cand struct {
	id   string
	pos  int64 // offset of its run.started (or earliest line): newer is larger
	refs []lineRef
	key  scalar
}

// cands is the kept runs; sorted, a heap with the worst run on top.
type cands struct {
	pl *plan
	c  []*cand
}

// less reports whether a is a worse run than b in the query's order.
func (h *cands) less(a, b *cand) bool {
	if h.pl.better(a.key, b.key) {
		return false
	}
	if h.pl.better(b.key, a.key) {
		return true
	}
	return a.pos < b.pos
}

func (h *cands) Len() int           { return len(h.c) }
func (h *cands) Less(i, j int) bool { return h.less(h.c[i], h.c[j]) }
func (h *cands) Swap(i, j int)      { h.c[i], h.c[j] = h.c[j], h.c[i] }
func (h *cands) Push(x any)         { h.c = append(h.c, x.(*cand)) }
func (h *cands) Pop() any {
	c := h.c[len(h.c)-1]
	h.c = h.c[:len(h.c)-1]
	return c
}
