package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// benchCase is one thing timed: a command a user would type, run by run.
type benchCase struct {
	tool    string // magelab, dvc, guild, mlflow, python
	name    string
	command string // as a user types it, for the tables
	run     func(ctx context.Context) error
	// timeout stops a sample that takes longer; the case is then reported
	// as timed out and not run again.
	timeout time.Duration
	// after, when set, runs after each timed sample, untimed (a check, a
	// count of failures).
	after func(r *Result)
}

// Result is one case's figures.
type Result struct {
	Figure   string    `json:"figure"`
	Size     int       `json:"size,omitempty"` // runs in the store (figure 3)
	Op       string    `json:"op,omitempty"`   // list or query (figure 3)
	Tool     string    `json:"tool"`
	Case     string    `json:"case"`
	Command  string    `json:"command"`
	Samples  []float64 `json:"samples_ms"`
	FirstMS  float64   `json:"first_ms,omitempty"` // the warm-up sample: cold caches
	MinMS    float64   `json:"min_ms"`
	MedMS    float64   `json:"median_ms"`
	MaxMS    float64   `json:"max_ms"`
	Ratio    float64   `json:"ratio_to_magelab,omitempty"` // this median / magelab's
	Failures []int     `json:"failures,omitempty"`         // per sample (figure 4)
	Extra    any       `json:"extra,omitempty"`
	Note     string    `json:"note,omitempty"`
	TimedOut bool      `json:"timed_out,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// measure runs the cases round-robin, one untimed warm-up round first when
// warm is set, so that the machine's noise falls on every case alike. A case
// that fails or times out is recorded as such and left out of later rounds.
func measure(ctx context.Context, log io.Writer, figure string, cases []benchCase, rounds int, warm bool) []*Result {
	out := newResults(figure, cases)
	measureInto(ctx, log, cases, out, rounds, warm)
	return out
}

// newResults makes the cases' results, for cases that write into theirs
// (figure 3 records what each listing printed).
func newResults(figure string, cases []benchCase) []*Result {
	out := make([]*Result, len(cases))
	for i, c := range cases {
		out[i] = &Result{Figure: figure, Tool: c.tool, Case: c.name, Command: c.command}
	}
	return out
}

// measureInto is measure with the results made by newResults.
func measureInto(ctx context.Context, log io.Writer, cases []benchCase, out []*Result, rounds int, warm bool) {
	start := 0
	if warm {
		start = -1
	}
	for k := start; k < rounds; k++ {
		for i, c := range cases {
			r := out[i]
			if r.Error != "" || r.TimedOut || ctx.Err() != nil {
				continue
			}
			ms, err := timeOne(ctx, c)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				r.TimedOut = true
				r.Note = fmt.Sprintf("stopped after %s", c.timeout)
				fmt.Fprintf(log, "  %-8s %-40s timed out after %s\n", c.tool, c.name, c.timeout)
				continue
			case err != nil:
				r.Error = err.Error()
				fmt.Fprintf(log, "  %-8s %-40s FAILED: %v\n", c.tool, c.name, err)
				continue
			}
			if k >= 0 {
				r.Samples = append(r.Samples, ms)
			} else {
				r.FirstMS = ms
			}
			if c.after != nil {
				c.after(r)
			}
			fmt.Fprintf(log, "  %-8s %-40s %s %10.1f ms\n", c.tool, c.name, roundLabel(k), ms)
		}
	}
	for _, r := range out {
		r.summarize()
	}
}

func roundLabel(k int) string {
	if k < 0 {
		return "warm-up "
	}
	return fmt.Sprintf("round %-2d", k+1)
}

// timeOne runs one sample of c and returns its wall time in milliseconds.
func timeOne(ctx context.Context, c benchCase) (float64, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	t := time.Now()
	err := c.run(ctx)
	ms := float64(time.Since(t).Microseconds()) / 1000
	if err != nil && ctx.Err() != nil {
		return ms, ctx.Err()
	}
	return ms, err
}

func (r *Result) summarize() {
	s := slices.Clone(r.Samples)
	slices.Sort(s)
	if len(s) > 0 {
		r.MinMS, r.MedMS, r.MaxMS = s[0], s[len(s)/2], s[len(s)-1]
	}
}

// ratios sets each result's ratio to the median of the magelab result ref
// points to.
func ratios(results []*Result, ref func(r *Result) *Result) {
	for _, r := range results {
		if m := ref(r); m != nil && m.MedMS > 0 && r.MedMS > 0 {
			r.Ratio = r.MedMS / m.MedMS
		}
	}
}

// command is one process the benchmark starts: in its own process group, so
// that a timeout stops what it started too.
type command struct {
	dir  string
	env  []string
	name string
	args []string
}

func (c command) String() string { return strings.Join(append([]string{c.name}, c.args...), " ") }

// run runs the command with its output kept for the error, which carries
// its last lines.
func (c command) run(ctx context.Context) error {
	_, err := c.output(ctx)
	return err
}

// output runs the command and returns its stdout. Its output goes to
// files, not pipes: daemons a command leaves behind (DVC's queue workers)
// keep its descriptors open, and Wait would wait for them.
func (c command) output(ctx context.Context) ([]byte, error) {
	cmd := exec.CommandContext(ctx, lookPath(c.name, c.env), c.args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdout, err := os.CreateTemp("", "bench-out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(stdout.Name())
	defer stdout.Close()
	stderr, err := os.CreateTemp("", "bench-err-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	out, _ := os.ReadFile(stdout.Name())
	if runErr != nil {
		errOut, _ := os.ReadFile(stderr.Name())
		return out, fmt.Errorf("%s (in %s): %w\n%s", c, c.dir, runErr, tail(string(out)+string(errOut), 1500))
	}
	return out, nil
}

// lookPath finds name in the PATH of env (exec looks in this process's),
// so that "dvc" is the one in the venv a tool's environment puts first.
func lookPath(name string, env []string) string {
	if strings.ContainsRune(name, '/') {
		return name
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one counts, as for exec
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
