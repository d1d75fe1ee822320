package sweep

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/stamp"
)

// ConfirmAbove is the trial count above which a sweep asks for -yes: a grid
// that large is more often a typo than a plan.
const ConfirmAbove = 1000

// Options change how Run runs a sweep.
type Options struct {
	Parallel    int  // -parallel: slots; 0 takes the spec's
	Dry         bool // list the trials and slots, run nothing
	Yes         bool // run more than ConfirmAbove trials
	RetryFailed bool // run only the trials whose last attempt failed
	Force       bool // retrain trials an earlier attempt finished
	Live        bool // redraw progress in place (Out is a terminal)
	Cores       int  // CPU cores to share; 0: all
	// First and Last (1-based, inclusive) run only those trials: one chunk
	// of a fanned-out sweep; 0 and 0 run them all.
	First, Last int
	// Allocation runs the trials in one slot with everything a scheduler
	// allocated (a Slurm task's GPUs and CPUs), leaving CUDA_VISIBLE_DEVICES
	// as the scheduler set it.
	Allocation bool
}

// Result is what a sweep did.
type Result struct {
	ID       string
	Spec     *Spec
	Outcomes []Outcome // in trial order; those never run have no status
	Best     *Outcome
	Stopped  string // why the sweep stopped before running every trial
}

// Run runs exp's sweep in p: every trial is a train run tagged with the
// sweep's id, in its own slot. A trial that an earlier attempt of the same
// sweep finished is reused; failed ones run again.
func Run(ctx context.Context, p *runner.Project, exp *config.Experiment, opts Options) (*Result, error) {
	spec, trials, err := Plan(exp, opts.Yes || opts.Dry)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: ID(exp), Spec: spec}
	total := len(trials)
	if opts.First > 0 {
		if opts.First > opts.Last || opts.Last > len(trials) {
			return nil, fmt.Errorf("trials %d to %d: the sweep has %d", opts.First, opts.Last, len(trials))
		}
		trials = trials[opts.First-1 : opts.Last]
	}
	devices := visibleDevices(ctx, p.Settings)
	slots := []Slot{allocationSlot(devices, cores(opts.Cores))}
	if !opts.Allocation {
		if slots, err = Slots(spec, devices, cores(opts.Cores), opts.Parallel); err != nil {
			return nil, fmt.Errorf("%s: sweep: %w", fileOf(exp), err)
		}
	}
	if opts.Dry {
		writePlan(p.Out, res.ID, trials, slots)
		return res, nil
	}
	todo := trials
	if opts.RetryFailed {
		if todo, err = failedTrials(p.Ledger, res.ID, spec, trials); err != nil {
			return nil, err
		}
		if len(todo) == 0 {
			fmt.Fprintf(p.Out, "sweep %s: no failed trial to retry\n", res.ID)
		}
	}
	if _, err := p.Venv(exp).Ensure(ctx, p.Out); err != nil {
		return nil, err
	}
	if err := p.Ledger.Append(startedEvent(res.ID, exp, spec, len(trials), len(slots))); err != nil {
		return nil, err
	}
	fmt.Fprintf(p.Out, "sweep %s: %s of %s on %s\n", res.ID, pluralf(len(todo), "trial", "trials"), exp.Name, describeSlots(slots))
	if opts.First > 0 {
		fmt.Fprintf(p.Out, "sweep %s: this is trials %d to %d of %d\n", res.ID, opts.First, opts.Last, total)
	}
	res.Outcomes = run(ctx, p, exp, res, todo, slots, opts)
	res.Best = best(spec, res.Outcomes)
	return res, finish(p, res, trials, ctx.Err() != nil)
}

// Plan checks exp's sweep block and expands it. More than ConfirmAbove
// trials need yes.
func Plan(exp *config.Experiment, yes bool) (*Spec, []Trial, error) {
	spec, err := ParseSpec(exp)
	if err != nil {
		return nil, nil, err
	}
	if n := GridSize(spec); n > ConfirmAbove && !yes {
		return nil, nil, fmt.Errorf("%s: sweep: %s trials (%s); pass -yes to run them all, or -dry to list them", fileOf(exp), bigCount(n), dims(spec))
	}
	trials := Expand(spec)
	for _, t := range trials {
		if _, err := exp.With(t.Values); err != nil {
			return nil, nil, fmt.Errorf("%s: sweep.parameters: trial %d (%s): %w", fileOf(exp), t.Index+1, t.Label(), err)
		}
	}
	return spec, trials, nil
}

// ID is the sweep's id: the same experiment file, -set overrides and seed
// give the same id, which is how running a sweep again resumes it.
func ID(exp *config.Experiment) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", exp.Name, exp.Hash, exp.Params.Hash())
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// run schedules the trials and shows progress.
func run(ctx context.Context, p *runner.Project, exp *config.Experiment, res *Result, trials []Trial, slots []Slot, opts Options) []Outcome {
	b := newBoard(res.Spec, len(trials), len(slots), p.Ledger.RunDir)
	d := newDisplay(ctx, b, p.Out, opts.Live, p.Settings.ProgressInterval)
	policy := failurePolicy(res.Spec)
	resumes := resumeDirs(p.Ledger, res.ID, res.Spec)
	var failed, finished int
	one := func(ctx context.Context, t Trial, s Slot) Outcome {
		b.start(t, s)
		d.trialStarted(t.Index)
		o := runTrial(ctx, p, exp, res.ID, t, s, opts.Force, resumes[trialKey(t.Values)], func(id string) { b.started(t.Index, id) })
		o.Trial, o.Slot = t, s
		b.end(o)
		d.println(trialLine(o, res.Spec.Metric, len(trials)))
		return o
	}
	stop := func(o Outcome) bool {
		if o.OK() {
			finished++
		} else if o.Status != record.StatusInterrupted {
			failed++
		}
		if why := policy(failed, finished); why != "" && res.Stopped == "" {
			res.Stopped = why
			d.println("sweep: stopping: " + why + "; the trials running now finish")
		}
		return res.Stopped != ""
	}
	outs := schedule(ctx, trials, slots, one, stop)
	d.stop()
	return outs
}

// runTrial trains one trial as a run of the sweep, in slot s.
// resume is an earlier attempt's output the trial may resume from.
func runTrial(ctx context.Context, p *runner.Project, exp *config.Experiment, sweepID string, t Trial, s Slot, force bool, resume string, started func(string)) Outcome {
	e, err := exp.With(t.Values)
	if err != nil {
		return Outcome{Status: record.StatusFailed, Err: err}
	}
	var devices *string
	if !s.Inherit {
		d := strings.Join(s.Devices, ",")
		devices = &d
	}
	log := &tailBuffer{max: 8 << 10}
	begin := time.Now()
	r, err := p.Train(ctx, e, runner.TrainOptions{Force: force,
		RunOptions: runner.RunOptions{SweepID: sweepID, Devices: devices, Env: s.Env(), Out: log, ResumeDir: resume},
		Started:    func(r *record.Run) { started(r.ID) }})
	o := Outcome{Duration: time.Since(begin), Err: err}
	if r != nil && r.Run != nil {
		o.RunID, o.Status, o.Metrics, o.Reused = r.Run.ID, r.Run.Status, r.Run.Metrics, r.UpToDate
	}
	switch {
	case err == nil:
		o.Status = record.StatusFinished
	case o.Status == record.StatusPreempted:
	case ctx.Err() != nil || o.Status == record.StatusInterrupted:
		o.Status = record.StatusInterrupted
	default:
		o.Status = record.StatusFailed
		if log.Len() > 0 && !hasLogTail(err) {
			o.Err = fmt.Errorf("%w\n%s", err, strings.TrimRight(log.String(), "\n"))
		}
	}
	return o
}

// hasLogTail reports whether err already carries the end of a stage log.
func hasLogTail(err error) bool {
	var se *runner.StageError
	return errors.As(err, &se) && len(se.LogTail) > 0
}

// trialLine is the line printed when a trial ends.
func trialLine(o Outcome, metric string, total int) string {
	head := fmt.Sprintf("trial %d/%d [%s] %s", o.Trial.Index+1, total, o.Slot.Name(), o.Trial.Label())
	switch {
	case o.Reused:
		return fmt.Sprintf("%s: reused run %s (finished earlier): %s", head, o.RunID, formatMetrics(o.Metrics, metric, 4))
	case o.OK():
		return fmt.Sprintf("%s: finished in %s: %s (run %s)", head, formatDuration(o.Duration), formatMetrics(o.Metrics, metric, 4), o.RunID)
	case o.Status == record.StatusInterrupted:
		return fmt.Sprintf("%s: interrupted after %s", head, formatDuration(o.Duration))
	case o.Status == record.StatusPreempted:
		return fmt.Sprintf("%s: preempted after %s (run it again to resume from its output): %s", head, formatDuration(o.Duration), indent(errText(o.Err)))
	}
	msg := "failed"
	if o.Err != nil {
		msg = "failed: " + indent(o.Err.Error())
	}
	return fmt.Sprintf("%s: %s after %s", head, msg, formatDuration(o.Duration))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// best is the finished trial with the best metric, or nil.
func best(s *Spec, outs []Outcome) *Outcome {
	var b *Outcome
	for i := range outs {
		if better(s, outs[i], b) {
			b = &outs[i]
		}
	}
	return b
}

// visibleDevices are the GPUs the trials may use: those nvidia-smi lists
// and CUDA_VISIBLE_DEVICES leaves visible; without nvidia-smi, those a Slurm
// allocation gave (none outside one).
func visibleDevices(ctx context.Context, s runner.Settings) []string {
	inv, err := gpu.Query(ctx)
	if err != nil {
		devices, _ := gpu.Allocated(s.Lookup)
		return devices
	}
	var out []string
	for _, d := range gpu.Visible(inv, s.CUDAVisible, s.CUDAVisibleSet) {
		out = append(out, strconv.Itoa(d.Index))
	}
	return out
}

func cores(n int) int {
	if n > 0 {
		return n
	}
	return runtime.NumCPU()
}

func describeSlots(slots []Slot) string {
	if len(slots[0].Devices) == 0 {
		return fmt.Sprintf("%s (CPU, %s each)", pluralf(len(slots), "slot", "slots"), pluralf(slots[0].Threads, "thread", "threads"))
	}
	names := make([]string, len(slots))
	for i, s := range slots {
		names[i] = s.Name()
	}
	return fmt.Sprintf("%s (%s)", pluralf(len(slots), "slot", "slots"), strings.Join(names, "; "))
}

func bigCount(n int) string {
	if n == int(^uint(0)>>1) {
		return "more than 9e18"
	}
	return strconv.Itoa(n)
}

// dims is "3 × 4 × 100 values of train.lr, train.hidden, train.epochs".
func dims(s *Spec) string {
	var counts, keys []string
	for _, p := range s.Parameters {
		counts = append(counts, strconv.Itoa(len(p.Values)))
		keys = append(keys, p.Key)
	}
	if s.Method == "random" {
		return "trials: " + strconv.Itoa(s.Trials)
	}
	return strings.Join(counts, " × ") + " values of " + strings.Join(keys, ", ")
}

func writePlan(w io.Writer, id string, trials []Trial, slots []Slot) {
	fmt.Fprintf(w, "sweep %s: %s on %s (dry run: nothing runs)\n", id, pluralf(len(trials), "trial", "trials"), describeSlots(slots))
	for _, t := range trials {
		fmt.Fprintf(w, "%4d  %s\n", t.Index+1, t.Label())
	}
}

// tailBuffer keeps the last max bytes written to it: a trial's output,
// for the failure message.
type tailBuffer struct {
	bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n, _ := t.Buffer.Write(p)
	if over := t.Len() - t.max; over > 0 {
		t.Next(over)
	}
	return n, nil
}

// specMap is the spec as the sweep.started event records it.
func specMap(exp *config.Experiment, s *Spec, trials, slots int) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(exp.Sweep.Raw)
	json.Unmarshal(b, &m)
	m["method"], m["goal"], m["trials"], m["slots"] = s.Method, s.Goal, trials, slots
	if s.Method == "random" {
		m["seed"] = s.Seed
	}
	return m
}

func startedEvent(id string, exp *config.Experiment, s *Spec, trials, slots int) record.Event {
	proc := stamp.ThisProcess()
	return record.Event{Type: record.EventSweepStarted, Time: time.Now().UTC(), SweepID: id, Experiment: exp.Name,
		Spec: specMap(exp, s, trials, slots), Host: proc.Host, PID: proc.PID, PIDStart: proc.PIDStart}
}
