package slurm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Task is one task of a job array (or a plain job) as Slurm reports it.
type Task struct {
	Job       string // the task's own job id once it has one ("4245"); "" while a pending array holds it
	ArrayJob  string // the array's job id ("4242"); "" for a plain job
	Index     int    // the array task id; -1 for a plain job
	State     string // Slurm's job state: PENDING, RUNNING, COMPLETED, TIMEOUT, OUT_OF_MEMORY, ...
	Reason    string // why it is pending, or how it ended (TimeLimit, NonZeroExitCode, ...); "" for None
	Restarts  int    // how often Slurm requeued it
	ExitCode  string // "0:0": the batch script's exit status and signal
	Node      string
	Partition string
	Start     time.Time
	End       time.Time
}

// Name is how squeue names the task: "4242_3", or "4242" for a plain job.
func (t Task) Name() string {
	if t.ArrayJob == "" {
		return t.Job
	}
	return t.ArrayJob + "_" + strconv.Itoa(t.Index)
}

// activeStates are the states of a task that is not over: it is waiting,
// running, being requeued or suspended, and will run or end later.
var activeStates = []string{"PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED",
	"REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}

// Active reports whether the task is not over yet.
func (t Task) Active() bool { return slices.Contains(activeStates, t.State) }

// Running reports whether the task runs now.
func (t Task) Running() bool { return t.State == "RUNNING" || t.State == "COMPLETING" }

// killedStates are the ends Slurm imposes on a task, whatever it was doing.
var killedStates = []string{"TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}

// Killed reports whether Slurm ended the task (its time limit, a cancel,
// the memory limit, a node failure), rather than the task ending itself.
func (t Task) Killed() bool { return slices.Contains(killedStates, t.State) }

// Verdict says how Slurm ended the task: "TIMEOUT (TimeLimit)".
func (t Task) Verdict() string {
	if t.Reason == "" || t.Reason == "None" {
		return t.State
	}
	return t.State + " (" + t.Reason + ")"
}

// Tasks reports the tasks of the given jobs (array or plain job ids):
// from the controller while it remembers them (scontrol show job), else
// from the accounting database (sacct). A job neither knows is left out.
func (c Cluster) Tasks(ctx context.Context, jobs []string) ([]Task, error) {
	var out []Task
	var forgotten []string
	for _, j := range jobs {
		text, err := c.run(ctx, "scontrol", "show", "job", "--oneliner", j)
		var ce *CommandError
		if errors.As(err, &ce) && ce.Err == nil && strings.Contains(ce.Stderr, "Invalid job id") {
			forgotten = append(forgotten, j)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, parseScontrol(text)...)
	}
	if len(forgotten) == 0 {
		return out, nil
	}
	acct, err := c.accounting(ctx, forgotten)
	if err != nil {
		return out, err
	}
	return append(out, acct...), nil
}

// accounting asks sacct about jobs the controller forgot; none when the
// cluster keeps no accounting.
func (c Cluster) accounting(ctx context.Context, jobs []string) ([]Task, error) {
	text, err := c.run(ctx, "sacct", sacctArgs(jobs)...)
	var ce *CommandError
	if errors.As(err, &ce) && (strings.Contains(ce.Stderr, "accounting storage is disabled") || ce.Err != nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseSacct(text), nil
}

// sacctFields are the columns sacctArgs asks for, in order.
var sacctFields = []string{"JobID", "JobIDRaw", "State", "ExitCode", "Reason", "Start", "End", "NodeList", "Partition"}

func sacctArgs(jobs []string) []string {
	return []string{"--noheader", "--parsable2", "--allocations", "--duplicates",
		"--format=" + strings.Join(sacctFields, ","), "--jobs=" + strings.Join(jobs, ",")}
}

// parseScontrol reads `scontrol show job --oneliner`: a line of KEY=VALUE
// words per job, a pending array's tasks folded into one line
// (ArrayTaskId=2-5%2).
func parseScontrol(text string) []Task {
	var out []Task
	for _, line := range strings.Split(text, "\n") {
		kv := words(line)
		if kv["JobId"] == "" {
			continue
		}
		t := Task{Job: kv["JobId"], ArrayJob: kv["ArrayJobId"], Index: -1, State: kv["JobState"], Reason: kv["Reason"],
			ExitCode: kv["ExitCode"], Node: kv["NodeList"], Partition: kv["Partition"],
			Start: slurmTime(kv["StartTime"]), End: slurmTime(kv["EndTime"])}
		if t.Reason == "None" {
			t.Reason = ""
		}
		if t.Node == "(null)" {
			t.Node = ""
		}
		t.Restarts, _ = strconv.Atoi(kv["Restarts"])
		ids := kv["ArrayTaskId"]
		if ids == "" {
			t.ArrayJob = ""
			out = append(out, t)
			continue
		}
		indices := expandIndices(ids)
		if len(indices) > 1 || strings.ContainsAny(ids, "-,") {
			t.Job = "" // a pending array's tasks have no job id of their own yet
		}
		for _, i := range indices {
			c := t
			c.Index = i
			out = append(out, c)
		}
	}
	return out
}

// words splits a oneliner into its KEY=VALUE words; a value holding spaces
// (a path) is cut short, which no field read here has.
func words(line string) map[string]string {
	kv := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			if _, seen := kv[k]; !seen {
				kv[k] = v
			}
		}
	}
	return kv
}

// parseSacct reads sacct --parsable2 rows of sacctFields; with --duplicates
// a requeued task has a row per attempt, and its last row wins.
func parseSacct(text string) []Task {
	byName := map[string]int{}
	var out []Task
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(line, "|")
		if len(f) != len(sacctFields) {
			continue
		}
		state, _, _ := strings.Cut(f[2], " ") // "CANCELLED by 1000"
		t := Task{Job: f[1], Index: -1, State: state, ExitCode: f[3], Reason: f[4], Start: slurmTime(f[5]), End: slurmTime(f[6]), Node: f[7], Partition: f[8]}
		if t.Reason == "None" {
			t.Reason = ""
		}
		arr, idx, isArray := strings.Cut(f[0], "_")
		tasks := []Task{t}
		if isArray {
			t.ArrayJob = arr
			ids := strings.Trim(idx, "[]")
			indices := expandIndices(ids)
			if len(indices) != 1 {
				t.Job = ""
			}
			tasks = tasks[:0]
			for _, i := range indices {
				c := t
				c.Index = i
				tasks = append(tasks, c)
			}
		}
		for _, t := range tasks {
			if i, ok := byName[t.Name()]; ok {
				t.Restarts = out[i].Restarts + 1
				out[i] = t
				continue
			}
			byName[t.Name()] = len(out)
			out = append(out, t)
		}
	}
	return out
}

// maxIndices bounds what expandIndices makes of one list: Slurm's own
// MaxArraySize is at most 4,000,001, and text that asks for more is not
// Slurm's.
const maxIndices = 4_000_001

// expandIndices expands an array's task ids: "3", "2-5", "1,4-6", "0-9:2",
// with an optional "%P" throttle.
func expandIndices(s string) []int {
	s, _, _ = strings.Cut(s, "%")
	var out []int
	for _, part := range strings.Split(s, ",") {
		rng, stepText, hasStep := strings.Cut(part, ":")
		step := 1
		if hasStep {
			if n, err := strconv.Atoi(stepText); err == nil && n > 0 {
				step = n
			}
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if b < a || b-a > maxIndices || len(out)+(b-a)/step >= maxIndices {
			continue
		}
		for i := a; i <= b; i += step {
			out = append(out, i)
		}
	}
	return out
}

// slurmTime reads Slurm's local-time stamps (2026-03-14T15:09:26);
// Unknown, None and N/A are the zero time.
func slurmTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Cancel cancels the jobs (scancel), which ends their running tasks and
// drops their pending ones.
func (c Cluster) Cancel(ctx context.Context, jobs []string) error {
	if len(jobs) == 0 {
		return nil
	}
	_, err := c.run(ctx, "scancel", jobs...)
	return err
}

// Submit submits script with args in front of it (sbatch --parsable ...)
// and returns the job id. A failed submission's error is Slurm's message.
func (c Cluster) Submit(ctx context.Context, args []string) (string, error) {
	out, err := c.run(ctx, "sbatch", args...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";") // "4242" or "4242;cluster"
	if _, perr := strconv.Atoi(id); perr != nil {
		return "", fmt.Errorf("sbatch %s: no job id in its answer %q", strings.Join(args, " "), out)
	}
	return id, nil
}
