package peers

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

const (
	trials = 16 // the toy's sweep: 4 values of train.lr × 4 of train.hidden
	slots  = 2
)

var (
	sweepLRs    = []string{"0.1", "0.03", "0.01", "0.003"}
	sweepHidden = []string{"32", "64", "128", "256"}
)

// figureSweep times a 16-trial grid of 1-second trials on 2 slots with
// magelab sweep, Guild (a batch with --max-trials, staged, run by two
// queues) and DVC (dvc exp run --queue, dvc queue start -j 2), from the
// command until the last trial is recorded, and counts failed trials. Each
// round sets a new train.round so that no tool reuses an earlier round.
func (b *bench) figureSweep(ctx context.Context) ([]*Result, error) {
	round := 0
	fails := map[string]int{}
	var mu sync.Mutex
	setFails := func(tool string, n int) { mu.Lock(); fails[tool] = n; mu.Unlock() }
	m, d, g := b.proj["magelab"], b.proj["dvc"], b.proj["guild"]
	cases := []benchCase{
		{tool: "magelab", name: "magelab sweep -parallel=2 (compiled)",
			command: `magelab sweep -exp=toy -parallel=2 -set="train.sleep=1 train.round=R"`,
			run: func(ctx context.Context) error {
				round++
				err := b.magelab(ctx, m, "sweep", "-exp=toy", "-parallel=2", "-set=train.sleep=1 train.round="+strconv.Itoa(round))
				n, cerr := magelabFailures(m, round)
				setFails("magelab", n)
				if cerr != nil {
					return cerr
				}
				if err != nil && n == 0 {
					return err
				}
				return nil
			}},
		{tool: "guild", name: "guild batch, 2 queues",
			command: "guild run -y pipeline train.lr=[...] train.hidden=[...] train.sleep=1 train.round=R --max-trials 16 --stage-trials; 2× guild run -y queue run-once=yes poll-interval=1",
			run: func(ctx context.Context) error {
				n, err := b.guildSweep(ctx, g, round)
				setFails("guild", n)
				return err
			}},
		{tool: "dvc", name: "dvc exp run --queue + dvc queue start -j 2",
			command: "dvc exp run --queue -S params.json:train.lr=0.1,... -S params.json:train.hidden=32,... -S train.sleep=1 -S train.round=R; dvc queue start -j 2; (wait for the 16 results)",
			run: func(ctx context.Context) error {
				n, err := b.dvcSweep(ctx, d, round)
				setFails("dvc", n)
				return err
			}},
	}
	for i := range cases {
		tool := cases[i].tool
		cases[i].timeout = 10 * time.Minute
		cases[i].after = func(r *Result) { r.Failures = append(r.Failures, fails[tool]) }
	}
	cases[2].after = func(r *Result) {
		r.Failures = append(r.Failures, fails["dvc"])
		b.waitDVCWorkers(ctx, d)
	}
	res := measure(ctx, b.log, "sweep", cases, b.o.SweepRounds, false)
	ratios(res, func(*Result) *Result { return res[0] })
	for _, r := range res {
		r.Extra = map[string]float64{"ideal_s": trials * 1.0 / slots}
	}
	return res, ctx.Err()
}

// magelabFailures counts the trials of round that did not finish, from the
// ledger.
func magelabFailures(dir string, round int) (int, error) {
	conds, err := query.ParseWhere("train.round=" + strconv.Itoa(round))
	if err != nil {
		return 0, err
	}
	runs, _, err := query.List(ledger.Open(filepath.Join(dir, "runs")), query.Query{Where: conds})
	if err != nil {
		return 0, err
	}
	ok := 0
	for _, r := range runs {
		if r.Status == record.StatusFinished {
			ok++
		}
	}
	return trials - ok, nil
}

// guildSweep stages the grid as a batch and runs it with two queues, each
// running one trial at a time; it returns the trials that did not complete.
func (b *bench) guildSweep(ctx context.Context, dir string, round int) (int, error) {
	args := []string{"run", "-y", "pipeline", "train.lr=[" + strings.Join(sweepLRs, ",") + "]",
		"train.hidden=[" + strings.Join(sweepHidden, ",") + "]", "train.sleep=1", "train.round=" + strconv.Itoa(round),
		"--max-trials", strconv.Itoa(trials), "--stage-trials"}
	if err := b.tool(ctx, "guild", dir, "guild", args...); err != nil {
		return trials, err
	}
	var wg sync.WaitGroup
	errs := make([]error, slots)
	for i := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.tool(ctx, "guild", dir, "guild", "run", "-y", "queue", "run-once=yes", "poll-interval=1")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return trials, err
		}
	}
	return guildFailures(b.guildHome, round)
}

// guildFailures counts the trials of round that did not exit 0, from the
// runs' attrs.
func guildFailures(home string, round int) (int, error) {
	dirs, err := filepath.Glob(filepath.Join(home, "runs", "*", ".guild", "attrs", "flags"))
	if err != nil {
		return 0, err
	}
	ok := 0
	for _, f := range dirs {
		flags, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(flags), "train.round: "+strconv.Itoa(round)+"\n") {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(f), "exit_status"))
		if err == nil && strings.TrimSpace(string(status)) == "0" {
			ok++
		}
	}
	return trials - ok, nil
}

// dvcSweep queues the grid, starts two workers and waits for the 16 task
// results; it returns the tasks that did not succeed. It polls the
// workers' result files, not `dvc queue status`, which takes a second of
// CPU each time.
func (b *bench) dvcSweep(ctx context.Context, dir string, round int) (int, error) {
	results := filepath.Join(dir, ".dvc", "tmp", "exps", "celery", "result")
	os.RemoveAll(results) // only this round's
	args := []string{"exp", "run", "-q", "--queue",
		"-S", "params.json:train.lr=" + strings.Join(sweepLRs, ","),
		"-S", "params.json:train.hidden=" + strings.Join(sweepHidden, ","),
		"-S", "params.json:train.sleep=1", "-S", "params.json:train.round=" + strconv.Itoa(round)}
	if err := b.tool(ctx, "dvc", dir, "dvc", args...); err != nil {
		return trials, err
	}
	if err := b.tool(ctx, "dvc", dir, "dvc", "queue", "start", "-j", strconv.Itoa(slots)); err != nil {
		return trials, err
	}
	for {
		done, ok := dvcResults(results)
		if done >= trials {
			return trials - ok, nil
		}
		select {
		case <-ctx.Done():
			return trials - ok, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dvcResults counts the finished tasks in the celery result directory and
// those that succeeded.
func dvcResults(dir string) (done, ok int) {
	files, _ := filepath.Glob(filepath.Join(dir, "celery-task-meta-*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(data, &r) != nil {
			continue
		}
		switch r.Status {
		case "SUCCESS":
			done++
			ok++
		case "FAILURE", "REVOKED":
			done++
		}
	}
	return done, ok
}

// waitDVCWorkers waits (untimed) until the queue's workers have exited, so
// that the next case does not share the CPUs with them.
func (b *bench) waitDVCWorkers(ctx context.Context, dir string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pids, _ := filepath.Glob(filepath.Join(dir, ".dvc", "tmp", "exps", "celery", "dvc-exp-worker-*.pid"))
		alive := false
		for _, p := range pids {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
					alive = true
				}
			}
		}
		if !alive {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
