// Command slurm measures the Slurm backend on a real cluster (the one-node
// test cluster of scripts/slurm-up.sh will do):
//
//   - submitting a 1,000-trial sweep: planning it, writing the plan and the
//     batch script, and the one sbatch of the job array (the binary, venv and
//     data stages made beforehand, as a re-submission finds them);
//   - magelab's own overhead per trial: from the submission to the stage's
//     first line, and from the stage's last line to its run being merged
//     into runs/, against a bare `sbatch --array` of the same script (to its
//     first line, and from its last line to Slurm reporting the task
//     COMPLETED).
//
// Run it from the repository root: go run ./bench/slurm [-rounds 3]
// It prints min/median/max per case and writes bench/results/slurm.json.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/backend/slurm"
	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// stageScript is the trial: its first and last lines stamped with the time.
const stageScript = `#!/bin/sh
date +%s.%N > "$1/first"
echo "first line"
sleep 1
date +%s.%N > "$1/last"
echo "score=1"
`

const tasks = 8

func main() {
	rounds := flag.Int("rounds", 3, "repetitions per case")
	flag.Parse()
	if err := run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "slurm bench:", err)
		os.Exit(1)
	}
}

type figures struct {
	Submit1000   []float64 `json:"submit_1000_trials_s"`
	Plan1000     []float64 `json:"plan_1000_trials_s"`
	Build        []float64 `json:"build_binary_cached_s"`
	MagelabStart []float64 `json:"magelab_running_to_first_line_s"`
	BareStart    []float64 `json:"bare_running_to_first_line_s"`
	MagelabExit  []float64 `json:"magelab_last_line_to_completed_s"`
	MagelabEnd   []float64 `json:"magelab_last_line_to_merged_s"`
	BareEnd      []float64 `json:"bare_last_line_to_completed_s"`
	Poll         string    `json:"poll"`
}

func run(rounds int) error {
	repo, _ := os.Getwd()
	work, err := os.MkdirTemp("", "magelab-bench-slurm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	proj := filepath.Join(work, "proj")
	if err := copyRepo(repo, proj); err != nil {
		return err
	}
	write(proj, "python/stamp.sh", stageScript)
	head := "stages:\n  train: {cmd: \"sh python/stamp.sh ${out}\"}\ntrain: {a: 0, b: 0}\nbackend: slurm\nslurm: {gpus_per_trial: 0}\n"
	var b100 []string
	for i := range 100 {
		b100 = append(b100, strconv.Itoa(i))
	}
	write(proj, "experiments/big.yaml", "name: big\n"+head+"sweep:\n  parameters:\n    train.a: [0,1,2,3,4,5,6,7,8,9]\n    train.b: ["+strings.Join(b100, ",")+"]\n  metric: score\n")
	var a8 []string
	for i := range tasks {
		a8 = append(a8, strconv.Itoa(i))
	}
	write(proj, "experiments/tiny.yaml", "name: tiny\n"+head+"sweep:\n  parameters:\n    train.a: ["+strings.Join(a8, ",")+"]\n  metric: score\n")
	bin := filepath.Join(work, "magelab")
	if err := sh(repo, []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath"}, "go", "tool", "mage", "-compile", bin); err != nil {
		return err
	}
	f := figures{Poll: os.Getenv("MAGELAB_SLURM_POLL")}
	if f.Poll == "" {
		f.Poll = "5s (default)"
	}
	for r := range rounds {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, rounds)
		if err := overheadRound(proj, bin, work, r, &f); err != nil {
			return err
		}
		if err := submitRound(proj, &f); err != nil {
			return err
		}
	}
	report(f)
	out, _ := json.MarshalIndent(f, "", "  ")
	os.MkdirAll(filepath.Join(repo, "bench", "results"), 0o755)
	return os.WriteFile(filepath.Join(repo, "bench", "results", "slurm.json"), append(out, '\n'), 0o644)
}

// submitRound times planning a 1,000-trial sweep, and planning, writing and
// submitting it as one array (then cancelled).
func submitRound(proj string, f *figures) error {
	p := runner.NewProject(proj, runner.SettingsFromEnv(), io.Discard)
	exp, err := config.Load(proj, "big")
	if err != nil {
		return err
	}
	start := time.Now()
	if _, _, err := sweep.Plan(exp, true); err != nil {
		return err
	}
	f.Plan1000 = append(f.Plan1000, time.Since(start).Seconds())
	all := make([]int, 1000)
	for i := range all {
		all[i] = i
	}
	start = time.Now()
	job, err := slurm.SubmitArray(context.Background(), p, exp, "", all, 0)
	took := time.Since(start).Seconds()
	exec.Command("scancel", job).Run()
	if err != nil {
		return err
	}
	f.Submit1000 = append(f.Submit1000, took)
	return nil
}

// overheadRound runs the 8-trial sweep with magelab and the same script as
// a bare array, and records the start and end latencies of each task.
func overheadRound(proj, bin, work string, round int, f *figures) error {
	os.RemoveAll(filepath.Join(proj, "runs"))
	os.RemoveAll(filepath.Join(proj, ".magelab", "slurm"))
	// The build, timed on its own: what every submission pays first.
	start := time.Now()
	if err := sh(proj, []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath"}, "go", "tool", "mage", "-compile", filepath.Join(work, "build-check")); err != nil {
		return err
	}
	f.Build = append(f.Build, time.Since(start).Seconds())

	merged := map[string]time.Time{}
	var mu sync.Mutex
	stop, watched := make(chan struct{}), make(chan struct{})
	go watchLedger(filepath.Join(proj, "runs", "ledger.jsonl"), merged, &mu, stop, watched)
	cmd := exec.Command(bin, "sweep", "-exp=tiny", fmt.Sprintf("-set=train.b=%d", round))
	cmd.Dir = proj
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	var tr *tracked
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := arrayLine.FindStringSubmatch(sc.Text()); m != nil && tr == nil {
			tr = follow(m[1])
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("magelab sweep: %w", err)
	}
	close(stop)
	<-watched
	if tr == nil {
		return fmt.Errorf("magelab sweep printed no job array id")
	}
	<-tr.done
	runs, _ := filepath.Glob(filepath.Join(proj, "runs", "*", "out", "first"))
	for _, first := range runs {
		dir := filepath.Dir(filepath.Dir(first))
		id := filepath.Base(dir)
		task := taskOf(filepath.Join(proj, "runs", id, "run.json"))
		last := stamp(filepath.Join(dir, "out", "last"))
		f.MagelabStart = append(f.MagelabStart, stamp(first)-secs(tr.running[task]))
		f.MagelabExit = append(f.MagelabExit, secs(tr.completed[task])-last)
		mu.Lock()
		m := merged[id]
		mu.Unlock()
		f.MagelabEnd = append(f.MagelabEnd, secs(m)-last)
	}
	return bareRound(work, round, f)
}

// bareRound submits the same script as a bare array and follows it with
// scontrol, as often as a close watcher would (every 50 ms).
func bareRound(work string, round int, f *figures) error {
	dir := filepath.Join(work, fmt.Sprintf("bare-%d", round))
	os.MkdirAll(dir, 0o755)
	script := "#!/bin/sh\n#SBATCH --output=" + dir + "/%A_%a.out\nout=" + dir + "/$SLURM_ARRAY_TASK_ID\nmkdir -p $out\n" +
		"sh " + filepath.Join(dir, "stage.sh") + " $out\n"
	write(dir, "stage.sh", stageScript)
	write(dir, "job.sh", script)
	jobOut, err := exec.Command("sbatch", "--parsable", fmt.Sprintf("--array=0-%d", tasks-1), filepath.Join(dir, "job.sh")).Output()
	if err != nil {
		return fmt.Errorf("sbatch: %w", err)
	}
	tr := follow(strings.TrimSpace(string(jobOut)))
	<-tr.done
	for i := range tasks {
		out := filepath.Join(dir, strconv.Itoa(i))
		last := stamp(filepath.Join(out, "last"))
		f.BareStart = append(f.BareStart, stamp(filepath.Join(out, "first"))-secs(tr.running[i]))
		f.BareEnd = append(f.BareEnd, secs(tr.completed[i])-last)
	}
	return nil
}

var arrayLine = regexp.MustCompile(`as Slurm job array (\d+)`)

// tracked is when each task of a job array was first seen running and
// completed, polling scontrol every 50 ms.
type tracked struct {
	running, completed map[int]time.Time
	done               chan struct{}
}

func follow(job string) *tracked {
	tr := &tracked{running: map[int]time.Time{}, completed: map[int]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for start := time.Now(); len(tr.completed) < tasks && time.Since(start) < 5*time.Minute; time.Sleep(50 * time.Millisecond) {
			text, _ := exec.Command("scontrol", "show", "job", "--oneliner", job).Output()
			now := time.Now()
			for _, line := range strings.Split(string(text), "\n") {
				var task = -1
				var state string
				for _, w := range strings.Fields(line) {
					if v, ok := strings.CutPrefix(w, "ArrayTaskId="); ok {
						if i, err := strconv.Atoi(v); err == nil {
							task = i
						}
					}
					if v, ok := strings.CutPrefix(w, "JobState="); ok {
						state = v
					}
				}
				if task < 0 {
					continue
				}
				if _, seen := tr.running[task]; !seen && (state == "RUNNING" || state == "COMPLETING" || state == "COMPLETED") {
					tr.running[task] = now
				}
				if _, seen := tr.completed[task]; !seen && state == "COMPLETED" {
					tr.completed[task] = now
				}
			}
		}
	}()
	return tr
}

// taskOf reads the array task id a run recorded.
func taskOf(runJSON string) int {
	b, _ := os.ReadFile(runJSON)
	var r struct {
		Env struct {
			Vars map[string]string `json:"vars"`
		} `json:"env"`
	}
	json.Unmarshal(b, &r)
	i, _ := strconv.Atoi(r.Env.Vars["SLURM_ARRAY_TASK_ID"])
	return i
}

// watchLedger notes when each run's run.finished reaches the ledger,
// reading it every 50 ms, and once more when stop closes; it closes done.
func watchLedger(path string, seen map[string]time.Time, mu *sync.Mutex, stop, done chan struct{}) {
	defer close(done)
	for {
		stopped := false
		select {
		case <-stop:
			stopped = true
		case <-time.After(50 * time.Millisecond):
		}
		b, _ := os.ReadFile(path)
		now := time.Now()
		for _, line := range strings.Split(string(b), "\n") {
			var ev struct{ Run, Type string }
			if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "run.finished" {
				continue
			}
			mu.Lock()
			if _, ok := seen[ev.Run]; !ok {
				seen[ev.Run] = now
			}
			mu.Unlock()
		}
		if stopped {
			return
		}
	}
}

func report(f figures) {
	fmt.Printf("Slurm backend (poll %s), seconds: min / median / max\n", f.Poll)
	row := func(name string, v []float64) {
		if len(v) == 0 {
			return
		}
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		fmt.Printf("  %-52s %7.3f %7.3f %7.3f  (n=%d)\n", name, s[0], s[len(s)/2], s[len(s)-1], len(s))
	}
	row("plan a 1,000-trial sweep", f.Plan1000)
	row("submit it: plan + plan.json + job.sh + one sbatch", f.Submit1000)
	row("build the tasks' binary (go tool mage -compile, cached)", f.Build)
	row("magelab: task running -> stage's first line", f.MagelabStart)
	row("bare sbatch --array: task running -> first line", f.BareStart)
	row("magelab: stage's last line -> task COMPLETED", f.MagelabExit)
	row("magelab: stage's last line -> run merged into runs/", f.MagelabEnd)
	row("bare: last line -> task COMPLETED", f.BareEnd)
}

func stamp(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return v
}

func secs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func write(dir, rel, content string) {
	p := filepath.Join(dir, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte(content), 0o644)
}

// copyRepo copies the files git would commit (but the tests) to dst.
func copyRepo(repo, dst string) error {
	out, err := exec.Command("git", "-C", repo, "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		return err
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		st, err := os.Lstat(filepath.Join(repo, rel))
		if err != nil || !st.Mode().IsRegular() || strings.HasPrefix(rel, "e2e/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(repo, rel))
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(dst, rel), b, st.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func sh(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
	}
	return nil
}
