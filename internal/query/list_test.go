package query

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// mustWriteLedger writes events as ledger lines, as Append would, plus
// extra raw text at the end.
func mustWriteLedger(tb testing.TB, events []record.Event, tail string) *ledger.Ledger {
	tb.Helper()
	l := ledger.Open(tb.TempDir())
	f, err := os.Create(l.Path())
	require.NoError(tb, err)
	w := bufio.NewWriter(f)
	for _, ev := range events {
		b, err := json.Marshal(ev)
		require.NoError(tb, err)
		w.Write(append(b, '\n'))
	}
	w.WriteString(tail)
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
	return l
}

func mustList(tb testing.TB, l *ledger.Ledger, q Query) ([]record.Summary, []string) {
	tb.Helper()
	runs, warnings, err := List(l, q)
	require.NoError(tb, err)
	return runs, warnings
}

func mustWhere(tb testing.TB, s string) []Cond {
	tb.Helper()
	c, err := ParseWhere(s)
	require.NoError(tb, err)
	return c
}

func ids(runs []record.Summary) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

// randomEvents makes the events of n runs as a busy ledger holds them:
// runs overlap (up to 6 in flight), some are evaluated much later, some
// never finish (on another host, or on this one with their process gone),
// some lack their run.started (a partial import), and one line in 500 is
// over a megabyte, longer than the reader's blocks.
func randomEvents(n int, seed uint64) []record.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	var events, later []record.Event
	var inFlight []int
	opts := []string{"adam", "sgd", "adamw"}
	finish := func(i int) {
		code := 0
		st := []record.Status{record.StatusFinished, record.StatusFinished, record.StatusFinished, record.StatusFailed, record.StatusInterrupted}[rng.IntN(5)]
		m := map[string]float64{"val_accuracy": float64(rng.IntN(1000)) / 1000}
		if rng.IntN(4) > 0 {
			m["val_loss"] = rng.Float64()
		}
		t := recordtest.T0.Add(time.Duration(i)*time.Minute + time.Duration(rng.IntN(600))*time.Second)
		events = append(events, record.Event{Run: recordtest.ID(i), Type: record.EventRunFinished, Time: t, Status: st, ExitCode: &code, Duration: float64(rng.IntN(5000)) / 10, Metrics: m})
		if rng.IntN(5) == 0 {
			later = append(later, record.Event{Run: recordtest.ID(i), Type: record.EventRunEvaluated, Time: t.Add(time.Hour), Metrics: map[string]float64{"test_acc": rng.Float64(), "val_accuracy": float64(rng.IntN(1000)) / 1000}})
		}
	}
	for i := range n {
		params := map[string]any{"train.lr": []float64{0.1, 0.01, 0.001}[rng.IntN(3)], "seed": rng.IntN(5), "train.opt": opts[rng.IntN(3)]}
		if rng.IntN(500) == 0 {
			params["train.note"] = strings.Repeat("x", 1<<20+rng.IntN(1<<19))
		}
		if rng.IntN(10) == 0 {
			delete(params, "train.lr")
		}
		ev := record.Event{Run: recordtest.ID(i), Type: record.EventRunStarted, Time: recordtest.T0.Add(time.Duration(i) * time.Minute),
			Experiment: []string{"digits", "cifar"}[rng.IntN(2)], Params: params,
			Git: &record.GitBrief{SHA: fmt.Sprintf("%040x", i/7), Branch: "main", Dirty: rng.IntN(4) == 0},
			GPU: "1x H200", Host: "elsewhere", PID: 100 + i}
		switch i % 40 {
		case 5: // this host, process gone: crashed
			ev.Host, ev.PID = proc.Hostname(), 0
		case 17: // a partial import: no run.started
			finish(i)
			continue
		}
		events = append(events, ev)
		if rng.IntN(30) == 0 {
			continue // never finishes
		}
		inFlight = append(inFlight, i)
		if len(inFlight) > rng.IntN(6) {
			k := rng.IntN(len(inFlight))
			finish(inFlight[k])
			inFlight = slices.Delete(inFlight, k, k+1)
		}
		if len(later) > 0 && rng.IntN(8) == 0 {
			events = append(events, later...)
			later = later[:0]
		}
	}
	for _, i := range inFlight {
		finish(i)
	}
	return append(events, later...)
}

// oracle answers q the slow way, from the fold of every event (Summaries,
// oldest first by first event), as List documents it.
func oracle(t *testing.T, summaries []record.Summary, q Query) []string {
	t.Helper()
	all := slices.Clone(summaries)
	slices.Reverse(all)
	value := func(s record.Summary, name string) scalar {
		switch name {
		case "status":
			if s.Status == "" {
				return scalar{}
			}
			return scalar{kind: kindStr, str: []byte(s.Status)}
		case "experiment":
			if s.Started.IsZero() {
				return scalar{}
			}
			return scalar{kind: kindStr, str: []byte(s.Experiment)}
		}
		if v, ok := s.Metrics[name]; ok {
			return scalar{kind: kindNum, num: v}
		}
		v, ok := s.Params[name]
		if !ok {
			return scalar{}
		}
		b, _ := json.Marshal(v)
		return jsonScalar(b)
	}
	var match, orphans []record.Summary
	for _, s := range all {
		ok := (q.Experiment == "" || s.Experiment == q.Experiment) && (q.SweepID == "" || s.SweepID == q.SweepID)
		for _, c := range q.Where {
			ok = ok && c.match(value(s, c.Name))
		}
		switch {
		case !ok:
		case s.Started.IsZero():
			orphans = append(orphans, s)
		default:
			match = append(match, s)
		}
	}
	if q.Sort == "" && q.Limit > 0 && len(match) >= q.Limit {
		return ids(match[:q.Limit])
	}
	// Orphans go where their first event lies: Summaries' order is that.
	pos := map[string]int{}
	for i, s := range all {
		pos[s.ID] = i
	}
	match = append(match, orphans...)
	slices.SortStableFunc(match, func(a, b record.Summary) int { return pos[a.ID] - pos[b.ID] })
	if q.Sort != "" {
		pl := &plan{desc: strings.HasPrefix(q.Sort, "-")}
		name := strings.TrimLeft(q.Sort, "+-")
		slices.SortStableFunc(match, func(a, b record.Summary) int {
			va, vb := value(a, name), value(b, name)
			switch {
			case pl.better(va, vb):
				return -1
			case pl.better(vb, va):
				return 1
			}
			return 0
		})
	}
	if q.Limit > 0 && len(match) > q.Limit {
		match = match[:q.Limit]
	}
	return ids(match)
}

// TestListMatchesOracle compares List with the slow fold on a ledger of
// several blocks, lines longer than a block among them.
func TestListMatchesOracle(t *testing.T) {
	n := 6000
	if testing.Short() {
		n = 1500
	}
	l := mustWriteLedger(t, randomEvents(n, 7), "")
	st, _ := os.Stat(l.Path())
	require.GreaterOrEqual(t, st.Size(), int64(3*blockSize), "ledger of %d bytes: want several blocks", st.Size())
	queries := []struct {
		name string
		q    Query
	}{
		{"All", Query{}},
		{"NewestFirstLimit", Query{Limit: 7}},
		{"FilterNewestFirst", Query{Where: mustWhere(t, "val_accuracy>0.5 status=finished"), Limit: 25}},
		{"FilterFewerThanLimit", Query{Where: mustWhere(t, "val_accuracy>0.995"), Limit: 500}},
		{"SortDescending", Query{Sort: "-val_accuracy", Limit: 20}},
		{"SortAscending", Query{Sort: "val_accuracy", Limit: 20}},
		{"SortAll", Query{Sort: "val_loss"}},
		{"SortByParam", Query{Sort: "train.lr", Limit: 30}},
		{"SortByTextParamDescending", Query{Sort: "-train.opt", Limit: 30}},
		{"SortByStatus", Query{Sort: "status", Limit: 50}},
		{"IssueQuery", Query{Where: mustWhere(t, "val_accuracy>0.9 train.lr=0.01 status=finished"), Sort: "-val_accuracy", Limit: 20}},
		{"EvalMetric", Query{Where: mustWhere(t, "test_acc>0.5"), Sort: "-test_acc", Limit: 40}},
		{"Experiment", Query{Experiment: "cifar", Where: mustWhere(t, "train.opt~ADAM*"), Limit: 60}},
		{"Crashed", Query{Where: mustWhere(t, "status=crashed")}},
		{"Running", Query{Where: mustWhere(t, "status=running"), Sort: "seed"}},
		{"NumbersTypedLikeYAML", Query{Where: mustWhere(t, "train.lr=1e-3 seed>=2"), Limit: 40}},
		{"NotEqualSkipsMissing", Query{Where: mustWhere(t, "train.lr!=0.1"), Sort: "-val_loss", Limit: 40}},
	}
	all, _, err := l.Summaries()
	require.NoError(t, err)
	byID := map[string]record.Summary{}
	for _, s := range all {
		byID[s.ID] = s
	}
	for _, tc := range queries {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := mustList(t, l, tc.q)
			want := oracle(t, all, tc.q)
			require.NotEmpty(t, want, "the oracle finds no runs: a useless case")
			require.Equal(t, want, ids(got), "List returned %d runs, the fold %d", len(got), len(want))
			for _, s := range got {
				require.Equal(t, byID[s.ID], s, "summary of %s differs from the fold's", s.ID)
			}
		})
	}
}

func TestListEvents(t *testing.T) {
	code := 0
	started := func(i int, exp string, params map[string]any) record.Event {
		return record.Event{Run: recordtest.ID(i), Type: record.EventRunStarted, Time: recordtest.T0.Add(time.Duration(i) * time.Minute), Experiment: exp, Params: params, Key: fmt.Sprintf("k%d", i),
			Git: &record.GitBrief{SHA: fmt.Sprintf("abc%037d", i), Branch: "main", Dirty: i == 2}, GPU: "1x H200", Host: "node-" + fmt.Sprint(i), PID: 1}
	}
	finished := func(i int, st record.Status, m map[string]float64) record.Event {
		return record.Event{Run: recordtest.ID(i), Type: record.EventRunFinished, Status: st, ExitCode: &code, Duration: float64(10 * i), Metrics: m}
	}
	events := []record.Event{
		started(0, "digits", map[string]any{"train.lr": 0.01, "train.opt": "adam"}),
		started(1, "digits", map[string]any{"train.lr": 0.1, "train.opt": "sgd"}),
		finished(0, record.StatusFinished, map[string]float64{"val_accuracy": 0.91}),
		started(2, "cifar", map[string]any{"train.lr": 0.01, "train.opt": "adam"}),
		finished(2, record.StatusFailed, map[string]float64{"val_accuracy": 0.2}),
		finished(1, record.StatusFinished, map[string]float64{"val_accuracy": 0.95}),
		{Run: recordtest.ID(0), Type: record.EventRunEvaluated, Metrics: map[string]float64{"test_accuracy": 0.89, "val_accuracy": 0.93}},
		finished(3, record.StatusFinished, map[string]float64{"val_accuracy": 0.5}), // imported without its run.started
		{Run: "sweep-1", Type: "sweep.started"},                                     // not a run
	}
	l := mustWriteLedger(t, events, `{"run":"`+recordtest.ID(4)+`","type":"run.started","experiment":"dig`)
	tests := []struct {
		name  string
		q     Query
		want  []int
		warns []string
	}{
		{"NewestFirst", Query{}, []int{3, 2, 1, 0}, nil},
		{"EvaluatedLaterGetsEvalMetrics", Query{Where: mustWhere(t, "test_accuracy>0.5")}, []int{0}, nil},
		{"LatestMetricWins", Query{Where: mustWhere(t, "val_accuracy=0.93")}, []int{0}, nil},
		{"SortDescending", Query{Sort: "-val_accuracy"}, []int{1, 0, 3, 2}, nil},
		{"SortAscending", Query{Sort: "val_accuracy"}, []int{2, 3, 0, 1}, nil},
		{"SortMissingLast", Query{Sort: "-test_accuracy"}, []int{0, 3, 2, 1}, nil},
		{"TiesNewestFirst", Query{Sort: "train.opt"}, []int{2, 0, 1, 3}, nil},
		{"Limit", Query{Sort: "-val_accuracy", Limit: 2}, []int{1, 0}, nil},
		{"WithoutStartedStillListed", Query{Where: mustWhere(t, "val_accuracy=0.5")}, []int{3}, nil},
		{"WithoutStartedHasNoExperiment", Query{Where: mustWhere(t, "experiment!=cifar")}, []int{1, 0}, nil},
		{"Experiment", Query{Experiment: "digits"}, []int{1, 0}, nil},
		{"Status", Query{Where: mustWhere(t, "status=failed")}, []int{2}, nil},
		{"IDBySuffix", Query{Where: mustWhere(t, "id="+recordtest.ID(1)[30:])}, []int{1}, nil},
		{"ShaByPrefix", Query{Where: mustWhere(t, "sha=abc00000")}, []int{2, 1, 0}, nil},
		{"Dirty", Query{Where: mustWhere(t, "dirty=true")}, []int{2}, nil},
		{"HostGlob", Query{Where: mustWhere(t, "host~node-?")}, []int{2, 1, 0}, nil},
		{"Duration", Query{Where: mustWhere(t, "duration>=20")}, []int{3, 2}, nil},
		{"Started", Query{Where: mustWhere(t, "started>=2026-01-02T03:05")}, []int{2, 1}, nil},
		{"Branch", Query{Where: mustWhere(t, "branch=main gpu~h200")}, []int{2, 1, 0}, nil},
		{"Key", Query{Where: mustWhere(t, "key=k1 status=finished")}, []int{1}, nil},
		{"ForcedMetric", Query{Where: mustWhere(t, "metrics.val_accuracy>0.9")}, []int{1, 0}, nil},
		{"ForcedParam", Query{Where: mustWhere(t, "params.train.lr=0.1")}, []int{1}, nil},
		{"UnknownNameWarnsOnce", Query{Where: mustWhere(t, "val_acc>0.5 val_acc<2"), Sort: "val_acc"}, nil,
			[]string{`no run has a metric or param named "val_acc": it matches nothing (runs:show ID lists a run's names)`}},
		{"UnknownForcedParam", Query{Where: mustWhere(t, "params.val_accuracy>0")}, nil,
			[]string{`no run has a param named "val_accuracy": it matches nothing (runs:show ID lists a run's names)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings := mustList(t, l, tc.q)
			want := make([]string, len(tc.want))
			for i, n := range tc.want {
				want[i] = recordtest.ID(n)
			}
			assert.Equal(t, want, ids(got))
			torn := fmt.Sprintf("%s: byte %d: skipped an unreadable line (a write cut short by a crash?)", l.Path(), fileSize(t, l)-int64(len(`{"run":"`+recordtest.ID(4)+`","type":"run.started","experiment":"dig`)))
			if assert.NotEmpty(t, warnings, "warnings = %q, want first %q", warnings, torn) {
				assert.Equal(t, torn, warnings[0], "warnings = %q, want first %q", warnings, torn)
			}
			rest := warnings[min(1, len(warnings)):]
			if len(tc.warns) == 0 {
				assert.Empty(t, rest, "warnings after the torn line = %q, want %q", rest, tc.warns)
			} else {
				assert.Equal(t, tc.warns, rest, "warnings after the torn line = %q, want %q", rest, tc.warns)
			}
		})
	}
	t.Run("SummaryOfEvaluatedRun", func(t *testing.T) {
		got, _ := mustList(t, l, Query{Where: mustWhere(t, "id="+recordtest.ID(0))})
		require.Len(t, got, 1, "got %+v", got)
		require.Equal(t, 0.89, got[0].Metrics["test_accuracy"], "got %+v", got)
		require.Equal(t, 0.93, got[0].Metrics["val_accuracy"], "got %+v", got)
		require.Equal(t, "digits", got[0].Experiment, "got %+v", got)
		require.Equal(t, "adam", got[0].Params["train.opt"], "got %+v", got)
	})
}

func fileSize(t *testing.T, l *ledger.Ledger) int64 {
	st, err := os.Stat(l.Path())
	require.NoError(t, err)
	return st.Size()
}

// TestListRuledOutRunNamesCount: a param only the runs dropped early have
// is not reported unknown, though their run.started is never decoded.
func TestListRuledOutRunNamesCount(t *testing.T) {
	code := 0
	l := mustWriteLedger(t, []record.Event{
		{Run: recordtest.ID(0), Type: record.EventRunStarted, Params: map[string]any{"only.here": 1}},
		{Run: recordtest.ID(0), Type: record.EventRunFinished, Status: record.StatusFailed, ExitCode: &code},
	}, "")
	got, warnings := mustList(t, l, Query{Where: mustWhere(t, "status=finished only.here=1")})
	require.Empty(t, got, "runs %v, warnings %q: want none", ids(got), warnings)
	require.Empty(t, warnings, "runs %v, warnings %q: want none", ids(got), warnings)
}

func TestListNewestFirstStopsEarly(t *testing.T) {
	l := mustWriteLedger(t, randomEvents(8000, 3), "")
	blocks := int(fileSize(t, l)/blockSize) + 1
	runs, _, read, err := list(l, Query{Limit: 5}, nil)
	require.NoError(t, err, "runs %d", len(runs))
	require.Len(t, runs, 5, "runs %d, err %v", len(runs), err)
	require.GreaterOrEqual(t, blocks, 4, "read %d of %d blocks for the 5 newest runs, want 1", read, blocks)
	require.Equal(t, 1, read, "read %d of %d blocks for the 5 newest runs, want 1", read, blocks)
	_, _, read, _ = list(l, Query{Sort: "-val_accuracy", Limit: 5}, nil)
	require.Equal(t, blocks, read, "a sort read %d of %d blocks, want all", read, blocks)
}

func TestListEmptyLedger(t *testing.T) {
	runs, warnings, err := List(ledger.Open(t.TempDir()), Query{Sort: "-x"})
	require.NoError(t, err, "runs %v, warnings %v", runs, warnings)
	require.Empty(t, runs, "runs %v, warnings %v, err %v", runs, warnings, err)
	require.Empty(t, warnings, "runs %v, warnings %v, err %v", runs, warnings, err)
	_, _, err = List(ledger.Open(t.TempDir()), Query{Sort: "-"})
	require.EqualError(t, err, `sort "-" names nothing (want NAME for ascending, -NAME for descending)`)
}

// writeBigLedger writes n runs of about 600 bytes fast, for the memory test.
func writeBigLedger(tb testing.TB, n int) *ledger.Ledger {
	tb.Helper()
	l := ledger.Open(tb.TempDir())
	f, err := os.Create(l.Path())
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		id := recordtest.ID(i)
		fmt.Fprintf(w, `{"run":"%s","type":"run.started","time":"2026-01-02T03:04:05Z","experiment":"digits","params":{"seed":%d,"train.lr":%g,"train.epochs":30,"train.hidden":128,"train.opt":"adam","data.test_size":0.2},"git":{"sha":"%040x","branch":"main"},"gpu":"1x H200","host":"elsewhere","pid":%d}`+"\n", id, i%7, []float64{0.1, 0.01, 0.001}[i%3], i/10, i)
		if i > 0 {
			// Runs overlap: each finishes after the next one started.
			fmt.Fprintf(w, `{"run":"%s","type":"run.finished","status":"finished","exit_code":0,"duration_s":%d,"metrics":{"val_accuracy":%g,"val_loss":%g,"train_loss":0.1}}`+"\n", recordtest.ID(i-1), i%300, float64((i*7919)%1000)/1000, float64(i%100)/100)
		}
	}
	require.NoError(tb, w.Flush())
	f.Close()
	return l
}

// TestListMemoryIsFlat: the heap a query holds does not grow with the
// ledger: ten times the runs, the same peak. The live heap is sampled after
// each block, with a collection first so that garbage does not count.
//
// The peak moves by a block or two between tries (which chunk a worker is
// filling when the sample is taken, a slice that doubled), so the bound
// allows 4 MiB: keeping as little as one run id per run would add 6 MiB
// over the 180k extra runs, and still fail.
func TestListMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 130 MB ledger")
	}
	// The least of three peaks: a leak shows in all, a collection that
	// happened to run late, or a block in flight, in one.
	peak := func(n int) uint64 {
		l := writeBigLedger(t, n)
		return min(peakOf(t, l), peakOf(t, l), peakOf(t, l))
	}
	small, big := peak(20_000), peak(200_000)
	t.Logf("peak live heap: %d KiB for 20k runs, %d KiB for 200k runs", small>>10, big>>10)
	const bound, slack = 16 << 20, 4 << 20
	require.LessOrEqual(t, big, uint64(bound), "peak live heap %d KiB for 200k runs against %d KiB for 20k: it grows with the ledger (bound %d KiB, slack %d KiB)", big>>10, small>>10, bound>>10, slack>>10)
	require.LessOrEqual(t, big, small+slack, "peak live heap %d KiB for 200k runs against %d KiB for 20k: it grows with the ledger (bound %d KiB, slack %d KiB)", big>>10, small>>10, bound>>10, slack>>10)
}

// peakOf is the peak live heap of a query on l, sampled after each block.
func peakOf(t *testing.T, l *ledger.Ledger) uint64 {
	t.Helper()
	runtime.GC()
	var base, ms runtime.MemStats
	runtime.ReadMemStats(&base)
	var max uint64
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if d := ms.HeapAlloc - min(ms.HeapAlloc, base.HeapAlloc); d > max {
			max = d
		}
	}
	q := Query{Where: mustWhere(t, "val_accuracy>0.5 train.lr=0.01"), Sort: "-val_accuracy", Limit: 20}
	runs, _, _, err := list(l, q, sample)
	require.NoError(t, err, "%d runs", len(runs))
	require.Len(t, runs, 20, "%d runs, err %v", len(runs), err)
	return max
}

func TestResolveID(t *testing.T) {
	var events []record.Event
	for _, id := range []string{"019abc00-0000-7000-8000-00000000aaaa", "019abc00-0000-7000-8000-00000000bbbb", "019def00-0000-7000-8000-00000000cccc"} {
		events = append(events, record.Event{Run: id, Type: record.EventRunStarted}, record.Event{Run: id, Type: record.EventRunFinished, Status: record.StatusFinished})
	}
	l := mustWriteLedger(t, events, "")
	tests := []struct {
		name, short, want, err string
	}{
		{"FullID", "019abc00-0000-7000-8000-00000000aaaa", "019abc00-0000-7000-8000-00000000aaaa", ""},
		{"UniquePrefix", "019d", "019def00-0000-7000-8000-00000000cccc", ""},
		{"UniqueSuffix", "bbbb", "019abc00-0000-7000-8000-00000000bbbb", ""},
		{"UpperCase", " BBBB ", "019abc00-0000-7000-8000-00000000bbbb", ""},
		{"Ambiguous", "019abc", "", `run id "019abc" is ambiguous, it matches 2 runs: 019abc00-0000-7000-8000-00000000bbbb, 019abc00-0000-7000-8000-00000000aaaa (give more characters; the end of an id is more distinctive than its start)`},
		{"Unknown", "zzzz", "", "no run matches \"zzzz\" (3 runs in the ledger; `go tool mage runs` lists them)"},
		{"Empty", " ", "", "empty run id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveID(l, tc.short)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err, "got %q; want %q", got, tc.want)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("ManyMatchesStayBounded", func(t *testing.T) {
		var events []record.Event
		for i := range maxHits + 50 {
			events = append(events, record.Event{Run: recordtest.ID(i), Type: record.EventRunStarted})
		}
		_, err := ResolveID(mustWriteLedger(t, events, ""), "019b")
		require.ErrorContains(t, err, fmt.Sprintf("matches more than %d runs", maxHits))
		require.ErrorContains(t, err, "… 995 more")
	})
	t.Run("FindGivesTheSummary", func(t *testing.T) {
		runs, _, err := Find(l, "cccc", "aaaa")
		require.NoError(t, err, "runs %+v", runs)
		require.Len(t, runs, 2, "runs %+v, err %v", runs, err)
		require.Equal(t, "cccc", runs[0].ID[32:], "runs %+v, err %v", runs, err)
		require.Equal(t, record.StatusFinished, runs[1].Status, "runs %+v, err %v", runs, err)
	})
}

func TestRecordsFallBackToLedger(t *testing.T) {
	code := 0
	l := mustWriteLedger(t, []record.Event{
		{Run: recordtest.ID(1), Type: record.EventRunStarted, Experiment: "digits", Host: proc.Hostname(), PID: 0},
		{Run: recordtest.ID(2), Type: record.EventRunStarted, Experiment: "digits", GPU: "1x H200"},
		{Run: recordtest.ID(2), Type: record.EventRunFinished, Status: record.StatusFinished, ExitCode: &code, Metrics: map[string]float64{"acc": 1}},
	}, "")
	require.NoError(t, l.WriteRecord(&record.Run{ID: recordtest.ID(1), Experiment: "digits", Status: record.StatusRunning}))
	runs, raw, warnings, err := Records(l, recordtest.ID(1)[28:], recordtest.ID(2)[28:])
	require.NoError(t, err)
	assert.Equal(t, record.StatusCrashed, runs[0].Status, "run 1: status %s (want crashed: its process is gone), raw %d bytes", runs[0].Status, len(raw[0]))
	assert.NotNil(t, raw[0], "run 1: status %s (want crashed: its process is gone), raw %d bytes", runs[0].Status, len(raw[0]))
	assert.Equal(t, 1.0, runs[1].Metrics["acc"], "run 2: %+v, warnings %q", runs[1], warnings)
	assert.Nil(t, raw[1], "run 2: %+v, warnings %q", runs[1], warnings)
	assert.NotNil(t, runs[1].GPU, "run 2: %+v, warnings %q", runs[1], warnings)
	if assert.Len(t, warnings, 1, "run 2: %+v, warnings %q", runs[1], warnings) {
		assert.Contains(t, warnings[0], filepath.Join(recordtest.ID(2), "run.json")+" is missing", "run 2: %+v, warnings %q", runs[1], warnings)
	}
}

func mustAppend(tb testing.TB, l *ledger.Ledger, ev record.Event) {
	tb.Helper()
	require.NoError(tb, l.Append(ev))
}
