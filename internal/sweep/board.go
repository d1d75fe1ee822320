package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// board is the live state of a sweep that progress displays read: counts,
// the best trial so far, and the trials running now.
type board struct {
	mu        sync.Mutex
	spec      *Spec
	total     int
	slots     int
	runDir    func(id string) string
	done      int
	failed    int
	pruned    int
	best      *Outcome
	ran       []time.Duration // durations of trials that ran (not reused), for the ETA
	running   map[int]*running
	startedAt time.Time
}

type running struct {
	trial Trial
	slot  Slot
	runID string
	since time.Time
}

func newBoard(spec *Spec, total, slots int, runDir func(string) string) *board {
	return &board{spec: spec, total: total, slots: slots, runDir: runDir, running: map[int]*running{}, startedAt: time.Now()}
}

func (b *board) start(t Trial, s Slot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running[t.Index] = &running{trial: t, slot: s, since: time.Now()}
}

func (b *board) started(i int, runID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.running[i]; r != nil {
		r.runID = runID
	}
}

func (b *board) end(o Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.running, o.Trial.Index)
	b.done++
	switch {
	case o.Status == record.StatusPruned:
		b.pruned++
		return
	case !o.OK():
		b.failed++
		return
	}
	if !o.Reused {
		b.ran = append(b.ran, o.Duration)
	}
	if better(b.spec, o, b.best) {
		c := o
		b.best = &c
	}
}

// better reports whether o beats best on the sweep metric.
func better(s *Spec, o Outcome, best *Outcome) bool {
	v, ok := o.Metrics[s.Metric]
	if s.Metric == "" || !ok || !o.OK() {
		return false
	}
	if best == nil {
		return true
	}
	if s.Goal == "minimize" {
		return v < best.Metrics[s.Metric]
	}
	return v > best.Metrics[s.Metric]
}

// eta estimates the time left from the mean duration of the trials that
// ran; 0 when none has yet.
func (b *board) eta() time.Duration {
	if len(b.ran) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range b.ran {
		sum += d
	}
	mean := sum / time.Duration(len(b.ran))
	queued := b.total - b.done - len(b.running)
	left := time.Duration(queued) * mean
	for _, r := range b.running {
		left += max(0, mean-time.Since(r.since))
	}
	return left / time.Duration(max(1, b.slots))
}

// status is the one-line summary: "3/9 done · 2 running · 1 failed · ETA 12s · best val_accuracy=0.98 (trial 4)".
func (b *board) status() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	parts := []string{fmt.Sprintf("%d/%d done", b.done, b.total), fmt.Sprintf("%d running", len(b.running)), fmt.Sprintf("%d failed", b.failed)}
	if b.pruned > 0 {
		parts = append(parts, fmt.Sprintf("%d pruned", b.pruned))
	}
	if eta := b.eta(); eta > 0 {
		parts = append(parts, "ETA "+formatDuration(eta))
	}
	if b.best != nil {
		parts = append(parts, fmt.Sprintf("best %s=%s (trial %d)", b.spec.Metric, formatMetric(b.best.Metrics[b.spec.Metric]), b.best.Trial.Index+1))
	}
	return strings.Join(parts, " · ")
}

// trialLines describes each running trial with its latest logged metrics:
// "trial 5 [gpu 1] train.lr=0.1 · 14s · step 12 val_accuracy=0.95".
func (b *board) trialLines() []string {
	b.mu.Lock()
	rs := make([]running, 0, len(b.running))
	for _, r := range b.running {
		rs = append(rs, *r)
	}
	b.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].trial.Index < rs[j].trial.Index })
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = b.trialLine(r)
	}
	return lines
}

func (b *board) trialLine(r running) string {
	line := fmt.Sprintf("trial %d [%s] %s · %s", r.trial.Index+1, r.slot.Name(), r.trial.Label(), elapsed(time.Since(r.since)))
	if r.runID == "" {
		return line
	}
	if m := latestMetrics(filepath.Join(b.runDir(r.runID), "out", "metrics.jsonl")); m != "" {
		line += " · " + m
	}
	return line
}

// lineOf is the line of running trial i, or "" once it ended.
func (b *board) lineOf(i int) string {
	b.mu.Lock()
	r, ok := b.running[i]
	var c running
	if ok {
		c = *r
	}
	b.mu.Unlock()
	if !ok {
		return ""
	}
	return b.trialLine(c)
}

// latestMetrics formats the last complete line of a metrics.jsonl:
// "step 12 val_accuracy=0.95 train_loss=0.12"; "" when there is none yet.
func latestMetrics(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tailSize = 4096
	if st, err := f.Stat(); err == nil && st.Size() > tailSize {
		f.Seek(st.Size()-tailSize, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	end := strings.LastIndexByte(string(b), '\n')
	if end < 0 {
		return ""
	}
	b = b[:end]
	line := b[strings.LastIndexByte(string(b), '\n')+1:]
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return ""
	}
	nums := map[string]float64{}
	step := ""
	for k, v := range m {
		f, ok := v.(float64)
		switch {
		case !ok:
		case k == "step" || k == "epoch":
			step = k + " " + formatMetric(f)
		default:
			nums[k] = f
		}
	}
	return strings.TrimSpace(step + " " + formatMetrics(nums, "", 3))
}

// elapsed is a running trial's time so far in whole seconds: 14s, 3m05s.
func elapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return formatDuration(d)
}
