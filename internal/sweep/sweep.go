package sweep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/ledger"
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
	if opts.Dry {
		return dryRun(ctx, p, exp, opts)
	}
	spec, trials, err := Plan(exp, opts.Yes)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: ID(exp), Spec: spec}
	total := len(trials)
	if opts.First > 0 {
		if spec.Adaptive() {
			return nil, fmt.Errorf("%s: sweep: method %s proposes each trial from the results so far, so it has no chunks to run apart: run it with `sweep`", fileOf(exp), spec.Method)
		}
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
	if spec.Adaptive() {
		return runAdaptive(ctx, p, exp, res, slots, opts)
	}
	todo := trials
	switch {
	case opts.RetryFailed:
		if todo, err = failedTrials(p.Ledger, res.ID, spec, trials); err != nil {
			return nil, err
		}
		if len(todo) == 0 {
			fmt.Fprintf(p.Out, "sweep %s: no failed trial to retry\n", res.ID)
		}
	case spec.EarlyStop != nil && !opts.Force:
		if todo, err = notPruned(p.Ledger, res.ID, spec, trials); err != nil {
			return nil, err
		}
	}
	if _, err := p.Venv(exp).Ensure(ctx, p.Out); err != nil {
		return nil, err
	}
	var st *studyTrial
	if spec.EarlyStop != nil {
		var cleanup func()
		if ctx, st, _, cleanup, err = startStudy(ctx, p, exp, res); err != nil {
			return nil, err
		}
		defer cleanup()
	}
	if err := p.Ledger.Append(startedEvent(res.ID, exp, spec, len(trials), len(slots))); err != nil {
		return nil, err
	}
	fmt.Fprintf(p.Out, "sweep %s: %s of %s on %s\n", res.ID, pluralf(len(todo), "trial", "trials"), exp.Name, describeSlots(slots))
	if opts.First > 0 {
		fmt.Fprintf(p.Out, "sweep %s: this is trials %d to %d of %d\n", res.ID, opts.First, opts.Last, total)
	}
	res.Outcomes = run(ctx, p, exp, res, len(todo), slots, opts, st, func(one runFunc, stop func(Outcome) bool) []Outcome {
		return schedule(ctx, todo, slots, one, stop)
	})
	res.Best = best(spec, res.Outcomes)
	return res, end(ctx, p, res, trials)
}

// end records how the sweep ended and returns its error: that of its
// helper when the helper died, else finish's.
func end(ctx context.Context, p *runner.Project, res *Result, trials []Trial) error {
	err := finish(p, res, trials, ctx.Err() != nil)
	if herr := helperErr(ctx); herr != nil {
		return fmt.Errorf("sweep %s stopped, its running trials interrupted: %w", res.ID, herr)
	}
	return err
}

// Plan checks exp's sweep block and expands it. More than ConfirmAbove
// trials need yes; more than MaxTrials are refused. The size is known
// before anything is expanded. An adaptive sweep (tpe, cmaes) has no trials
// before it runs: its keys are checked on one point of the space.
func Plan(exp *config.Experiment, yes bool) (*Spec, []Trial, error) {
	spec, err := check(exp)
	if err != nil {
		return nil, nil, err
	}
	if spec.Adaptive() {
		if _, err := exp.With(probe(spec)); err != nil {
			return nil, nil, fmt.Errorf("%s: sweep.parameters: %w", fileOf(exp), err)
		}
		return spec, nil, nil
	}
	switch n := Size(spec); {
	case n > MaxTrials:
		return nil, nil, fmt.Errorf("%s: sweep: %s trials (%s) is more than a sweep may have (%d): shorten the lists or split the sweep; -dry shows its first trials", fileOf(exp), bigCount(n), dims(spec), MaxTrials)
	case n > ConfirmAbove && !yes:
		return nil, nil, fmt.Errorf("%s: sweep: %s trials (%s); pass -yes to run them all, or -dry to list them", fileOf(exp), bigCount(n), dims(spec))
	}
	return spec, Expand(spec), nil
}

// check returns exp's sweep block with every value it sets checked against
// the experiment's params: each list value, and each range's ends, once,
// however many trials they make.
func check(exp *config.Experiment) (*Spec, error) {
	spec, err := ParseSpec(exp)
	if err != nil {
		return nil, err
	}
	for _, p := range spec.Parameters {
		vals := p.Values
		if p.IsRange() {
			vals = []any{p.Min, p.Max}
			if p.Int {
				vals = []any{int(p.Min), int(p.Max)}
			}
		}
		for _, v := range vals {
			if _, err := exp.With([]config.KV{{Key: p.Key, Value: v}}); err != nil {
				return nil, fmt.Errorf("%s: sweep.parameters.%s: %w", fileOf(exp), p.Key, err)
			}
		}
	}
	return spec, nil
}

// dryList is how many trials -dry lists of a sweep too large to list whole.
const dryList = 20

// dryRun prints the sweep's size, slots and trials (the first dryList of
// them past ConfirmAbove), building no more of it than it prints.
func dryRun(ctx context.Context, p *runner.Project, exp *config.Experiment, opts Options) (*Result, error) {
	spec, err := check(exp)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: ID(exp), Spec: spec}
	slots, err := Slots(spec, visibleDevices(ctx, p.Settings), cores(opts.Cores), opts.Parallel)
	if err != nil {
		return nil, fmt.Errorf("%s: sweep: %w", fileOf(exp), err)
	}
	if spec.Adaptive() {
		return res, dryAdaptive(ctx, p, exp, res, slots)
	}
	n, shown := Size(spec), ConfirmAbove
	if n > ConfirmAbove {
		shown = dryList
	}
	writePlan(p.Out, res.ID, spec, n, First(spec, shown), n <= shown, slots)
	return res, nil
}

// ID is the sweep's id: the same experiment file, -set overrides and seed
// give the same id, which is how running a sweep again resumes it.
func ID(exp *config.Experiment) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", exp.Name, exp.Hash, exp.Params.Hash())
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// run schedules total trials with sched and shows progress. With a study
// (st), each trial is an Optuna trial, followed for early stopping.
func run(ctx context.Context, p *runner.Project, exp *config.Experiment, res *Result, total int, slots []Slot, opts Options,
	st *studyTrial, sched func(runFunc, func(Outcome) bool) []Outcome) []Outcome {
	b := newBoard(res.Spec, total, len(slots), p.Ledger.RunDir)
	d := newDisplay(ctx, b, p.Out, opts.Live, p.Settings.ProgressInterval)
	policy := failurePolicy(res.Spec)
	resumes := resumeDirs(p.Ledger, res.ID, res.Spec)
	var failed, finished int
	if st != nil {
		st.warn = func(msg string) { d.println("warning: " + msg) }
	}
	one := func(ctx context.Context, t Trial, s Slot) Outcome {
		b.start(t, s)
		d.trialStarted(t.Index)
		started := func(id string) { b.started(t.Index, id) }
		resume := resumes[trialKey(t.Values)]
		train := func(ctx context.Context, started func(string)) Outcome {
			return runTrial(ctx, p, exp, res.ID, t, s, opts.Force, resume, started)
		}
		var o Outcome
		if st == nil {
			o = train(ctx, started)
		} else {
			o = st.trial(ctx, t, started, train)
		}
		o.Trial, o.Slot = t, s
		b.end(o)
		d.println(trialLine(o, res.Spec.Metric, total))
		return o
	}
	stop := func(o Outcome) bool {
		if o.OK() {
			finished++
		} else if o.Failed() {
			failed++
		}
		if why := policy(failed, finished); why != "" && res.Stopped == "" {
			res.Stopped = why
			d.println("sweep: stopping: " + why + "; the trials running now finish")
		}
		return res.Stopped != ""
	}
	outs := sched(one, stop)
	d.stop()
	return outs
}

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
	if s.Sampled() {
		return "trials: " + strconv.Itoa(s.Trials)
	}
	return strings.Join(counts, " × ") + " values of " + strings.Join(keys, ", ")
}

// writePlan prints a dry run: the sweep's size and slots, then the trials
// listed (all of them, or the first ones of a large sweep).
func writePlan(w io.Writer, id string, s *Spec, size int, trials []Trial, all bool, slots []Slot) {
	count := pluralf(len(trials), "trial", "trials")
	if !all {
		count = bigCount(size) + " trials"
		if s.Method == "random" {
			count += " (before repeated points are dropped)"
		}
	}
	fmt.Fprintf(w, "sweep %s: %s on %s (dry run: nothing runs)\n", id, count, describeSlots(slots))
	if s.EarlyStop != nil {
		fmt.Fprintf(w, "sweep %s: %s\n", id, describeMethod(s))
	}
	for _, t := range trials {
		fmt.Fprintf(w, "%4d  %s\n", t.Index+1, t.Label())
	}
	if !all {
		more := "the rest are not listed"
		if size > MaxTrials {
			more = fmt.Sprintf("a sweep may have %d trials at most: shorten the lists or split it before running it", MaxTrials)
		} else if size > ConfirmAbove {
			more += "; run them with -yes"
		}
		fmt.Fprintf(w, "  …   (the first %d of %s; %s)\n", len(trials), bigCount(size), more)
	}
}

// specMap is the spec as the sweep.started event records it.
func specMap(exp *config.Experiment, s *Spec, trials, slots int) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(exp.Sweep.Raw)
	json.Unmarshal(b, &m)
	m["method"], m["goal"], m["trials"], m["slots"] = s.Method, s.Goal, trials, slots
	if s.Sampled() {
		m["seed"] = s.Seed
	}
	if s.Adaptive() || s.EarlyStop != nil {
		m["study"] = filepath.ToSlash(filepath.Join("runs", ledger.SweepsDir, ID(exp), JournalName))
	}
	return m
}

func startedEvent(id string, exp *config.Experiment, s *Spec, trials, slots int) record.Event {
	proc := stamp.ThisProcess()
	return record.Event{Type: record.EventSweepStarted, Time: time.Now().UTC(), SweepID: id, Experiment: exp.Name,
		Spec: specMap(exp, s, trials, slots), Host: proc.Host, PID: proc.PID, PIDStart: proc.PIDStart}
}
