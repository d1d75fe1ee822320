package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// maxHits bounds the ids remembered for one short id: past it the id is
// ambiguous anyway, and memory stays flat on a huge ledger.
const maxHits = 1000

// ResolveID returns the full id of the run whose id is short, or starts or
// ends with it, reading the ledger once without holding its runs in memory.
// An ambiguous or unknown id is an error that lists candidates.
func ResolveID(l *ledger.Ledger, short string) (string, error) {
	runs, _, err := Find(l, short)
	if err != nil {
		return "", err
	}
	return runs[0].ID, nil
}

// Find resolves each short id like ResolveID, in one pass over the ledger,
// and returns the runs' summaries in the order asked, with warnings about
// their unreadable lines.
func Find(l *ledger.Ledger, shorts ...string) ([]record.Summary, []string, error) {
	wants := make([]*want, len(shorts))
	for i, s := range shorts {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			return nil, nil, errors.New("empty run id")
		}
		wants[i] = &want{short: s, hits: map[string][]lineRef{}}
	}
	f, err := os.Open(l.Path())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("open ledger: %w", err)
	}
	started := 0
	if err == nil {
		defer f.Close()
		var v lineVals
		var pl plan
		err = readBackwards(f, func(b []byte, off int64) bool {
			id, typ, ok := peekRun(b)
			if !ok || typ == nil {
				v.reset()
				if !pl.parse(b, &v) || len(v.id) == 0 {
					return true // warned about when the run is decoded, if it is one of ours
				}
				id, typ = v.id, v.typ
			}
			if string(typ) == record.EventRunStarted {
				started++
			}
			for _, w := range wants {
				w.see(id, lineRef{off: off, n: int32(len(b))})
			}
			return true
		})
		if err != nil {
			return nil, nil, err
		}
	}
	out := make([]record.Summary, len(wants))
	var warnings []string
	for i, w := range wants {
		id, err := w.resolve(started)
		if err != nil {
			return nil, nil, err
		}
		s, warn := summarize(f, id, w.hits[id], nil)
		out[i], warnings = s, append(warnings, warn...)
	}
	return out, warnings, nil
}

// want is one short id being looked for, and the runs it matches.
type want struct {
	short string
	exact string
	hits  map[string][]lineRef
	over  bool // more than maxHits runs match
}

func (w *want) see(id []byte, r lineRef) {
	exact := string(id) == w.short
	if !exact && !hasPrefixOrSuffix(id, w.short) {
		return
	}
	refs, known := w.hits[string(id)]
	if !known && len(w.hits) >= maxHits {
		w.over = true
		return
	}
	key := string(id)
	if exact {
		w.exact = key
	}
	w.hits[key] = append(refs, r)
}

// hasPrefixOrSuffix matches ids as Resolve does: by prefix or suffix.
func hasPrefixOrSuffix(id []byte, short string) bool {
	return len(id) >= len(short) && (string(id[:len(short)]) == short || string(id[len(id)-len(short):]) == short)
}

func (w *want) resolve(runs int) (string, error) {
	if w.exact != "" {
		return w.exact, nil
	}
	switch {
	case len(w.hits) == 1:
		for id := range w.hits {
			return id, nil
		}
	case len(w.hits) == 0:
		return "", &IDError{Short: w.short, Runs: runs}
	}
	ids := make([]string, 0, len(w.hits))
	for id := range w.hits {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	n := fmt.Sprint(len(ids))
	if w.over {
		n = fmt.Sprintf("more than %d", maxHits)
	}
	shown := ids[:min(len(ids), 5)]
	if len(ids) > 5 {
		shown = append(shown[:5:5], fmt.Sprintf("… %d more", len(ids)-5))
	}
	return "", &IDError{Short: w.short, Runs: runs, Matches: ids, more: w.over,
		msg: fmt.Sprintf("run id %q is ambiguous, it matches %s runs: %s (give more characters; the end of an id is more distinctive than its start)", w.short, n, strings.Join(shown, ", "))}
}

// IDError is a short run id that matches no run (Matches empty) or more
// than one.
type IDError struct {
	Short   string
	Runs    int      // runs in the ledger
	Matches []string // the runs it matches, newest first; empty: none
	more    bool     // more matched than were kept
	msg     string
}

// Ambiguous reports whether the id matches several runs.
func (e *IDError) Ambiguous() bool { return len(e.Matches) > 1 || e.more }

func (e *IDError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("no run matches %q (%d runs in the ledger; `go tool mage runs` lists them)", e.Short, e.Runs)
}

// Records finds the runs whose ids are shorts (see ResolveID) and returns
// their records as Record reads them, with raw holding each run.json as
// stored (nil where it is missing).
func Records(l *ledger.Ledger, shorts ...string) (runs []*record.Run, raw [][]byte, warnings []string, err error) {
	sums, warnings, err := Find(l, shorts...)
	if err != nil {
		return nil, nil, warnings, err
	}
	for _, s := range sums {
		r, b, warn, err := Record(l, s)
		if err != nil {
			return nil, nil, warnings, err
		}
		if warn != "" {
			warnings = append(warnings, warn)
		}
		runs, raw = append(runs, r), append(raw, b)
	}
	return runs, raw, warnings, nil
}

// Record is the record of the run the ledger summarises as s: run.json,
// with the status the ledger tells when it knows more (a run.json still
// saying running whose process is gone is crashed); where run.json is
// missing (a ledger imported without its run directories) what the ledger
// knows, with a warning. raw is run.json as stored, nil where it is
// missing.
func Record(l *ledger.Ledger, s record.Summary) (r *record.Run, raw []byte, warning string, err error) {
	p := filepath.Join(l.RunDir(s.ID), "run.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return record.RecordFromSummary(s), nil, fmt.Sprintf("%s is missing: showing what the ledger knows of run %s", p, s.ID), nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("read run record: %w", err)
	}
	r = &record.Run{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, nil, "", fmt.Errorf("decode %s: %w", p, err)
	}
	if r.Status == record.StatusRunning && s.Status != record.StatusRunning && s.Status != "" {
		// run.json was not written at the end (a full disk, a crash): how
		// the run ended is the ledger's.
		r.Status = s.Status
		if s.Status != record.StatusCrashed {
			r.ExitCode, r.Error, r.DurationSec = s.ExitCode, s.Error, s.Duration
			warning = fmt.Sprintf("%s was not updated when run %s ended: showing how it ended from the ledger", p, s.ID)
		}
	}
	return r, b, warning, nil
}
