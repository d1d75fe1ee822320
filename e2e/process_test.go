package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterrupt sends SIGINT to magelab during a stage, as Ctrl-C does: the
// stage's process group is stopped, the run is recorded as interrupted with
// exit status 130, and no process is left behind.
func TestInterrupt(t *testing.T) {
	p := newProject(t)
	p.write("python/slow/train.py", `import os, subprocess, sys, time
run_dir = os.environ["MAGELAB_RUN_DIR"]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(os.path.join(run_dir, "pids"), "w").write(f"{os.getpid()} {child.pid}")
print("training forever", flush=True)
time.sleep(300)
`)
	p.write("experiments/slow.yaml", "name: slow\nrequirements: [python/requirements.txt]\nstages:\n  train: python/slow/train.py\n")
	cmd := p.command(magelabBin, "train", "-exp=slow")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	pids := waitForFile(t, p, "pids", 60*time.Second)
	// Ctrl-C reaches the whole foreground process group: magelab's own.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	require.Equal(t, 130, code, "exit %d (%v), want 130:\n%s", code, err, out.String())
	run := p.newestRun()
	require.Equal(t, record.StatusInterrupted, run.Status, "run %s exit %d", run.Status, run.ExitCode)
	require.Equal(t, 130, run.ExitCode, "run %s exit %d", run.Status, run.ExitCode)
	mustContain(t, p.read("runs/ledger.jsonl"), `"status":"interrupted","exit_code":130`)
	for _, f := range strings.Fields(pids) {
		pid, _ := strconv.Atoi(f)
		waitGone(t, pid)
	}
}

// TestConcurrentSameStage starts two magelab processes that need the same
// data stage: it runs once, and the other process waits and reuses it.
func TestConcurrentSameStage(t *testing.T) {
	p := newProject(t)
	p.write("python/shared/prep.py", `import argparse, os, time
ap = argparse.ArgumentParser(); ap.add_argument("--params"); ap.add_argument("--out")
a = ap.parse_args()
with open(os.environ["PREP_RUNS"], "a") as f:
    f.write("x\n")
time.sleep(3)
open(os.path.join(a.out, "data.txt"), "w").write("prepared")
`)
	p.write("experiments/shared.yaml", "name: shared\nrequirements: [python/requirements.txt]\nstages:\n  setup-data: python/shared/prep.py\n")
	counter := filepath.Join(t.TempDir(), "prep-runs")
	p.env = []string{"PREP_RUNS=" + counter}
	var wg sync.WaitGroup
	results := make([]result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = p.tryMage("setupData", "-exp=shared")
		}()
	}
	wg.Wait()
	for i, r := range results {
		require.NoError(t, errs[i])
		require.Equal(t, 0, r.code, "exit %d:\n%s", r.code, r.out)
	}
	runs, _ := os.ReadFile(counter)
	n := strings.Count(string(runs), "x")
	require.Equal(t, 1, n, "stage ran %d times, want once\n%s\n%s", n, results[0].out, results[1].out)
	both := results[0].out + results[1].out
	mustContain(t, both, "waiting for it")
}

func waitForFile(t *testing.T, p *project, name string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(p.dir, "runs", "*", name))
		if len(matches) == 1 {
			if b, _ := os.ReadFile(matches[0]); len(bytes.Fields(b)) == 2 {
				return string(b)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.FailNow(t, fmt.Sprintf("no runs/*/%s after %s", name, limit))
	return ""
}

// waitGone waits for pid to exit; a process still there after a few seconds
// was orphaned.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) == syscall.ESRCH || isZombie(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Fail(t, fmt.Sprintf("process %d is still running: orphaned", pid))
	syscall.Kill(pid, syscall.SIGKILL)
}

// isZombie reports a process that has exited but was not yet reaped (its new
// parent after reparenting may be slow to wait for it).
func isZombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// escapeScript is a train stage that leaves two processes behind that a
// signal to its process group misses: a daemon in a session of its own
// (setsid), and an orphan of a double fork in a group of its own. It writes
// their pids to the run directory, then exits or, with STAGE_HANG, hangs.
const escapeScript = `import argparse, json, os, time
ap = argparse.ArgumentParser(); ap.add_argument("--params"); ap.add_argument("--out")
a = ap.parse_args()
run_dir = os.environ["MAGELAB_RUN_DIR"]
daemon = os.fork()
if daemon == 0:
    os.setsid(); time.sleep(300); os._exit(0)
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    orphan = os.fork()
    if orphan == 0:
        os.setpgid(0, 0); time.sleep(300); os._exit(0)
    os.write(w, str(orphan).encode()); os._exit(0)
os.waitpid(middle, 0)
orphan = os.read(r, 32).decode()
json.dump({"ok": 1}, open(os.path.join(a.out, "metrics.json"), "w"))
open(os.path.join(run_dir, "pids.tmp"), "w").write(f"{daemon} {orphan}")
os.rename(os.path.join(run_dir, "pids.tmp"), os.path.join(run_dir, "pids"))
print("left two processes behind", flush=True)
if os.environ.get("STAGE_HANG"):
    time.sleep(300)
`

// TestStageDescendantsKilled checks that what a stage leaves behind outside
// its process group — a setsid daemon, a double-forked orphan — is killed
// when the stage ends, and when magelab itself is killed with SIGKILL.
func TestStageDescendantsKilled(t *testing.T) {
	t.Run("StageEnds", func(t *testing.T) {
		p := newProject(t)
		p.write("python/escape/train.py", escapeScript)
		p.write("experiments/escape.yaml", "name: escape\nrequirements: [python/requirements.txt]\nstages:\n  train: python/escape/train.py\n")
		r := p.mustMage("train", "-exp=escape")
		mustContain(t, r.out, "left two processes behind")
		for _, f := range strings.Fields(waitForFile(t, p, "pids", time.Second)) {
			pid, _ := strconv.Atoi(f)
			waitGone(t, pid)
		}
	})
	t.Run("MagelabKilled", func(t *testing.T) {
		p := newProject(t)
		p.write("python/escape/train.py", escapeScript)
		p.write("experiments/escape.yaml", "name: escape\nrequirements: [python/requirements.txt]\nstages:\n  train: python/escape/train.py\n")
		p.env = []string{"STAGE_HANG=1"}
		cmd := p.command(magelabBin, "train", "-exp=escape")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids := waitForFile(t, p, "pids", 60*time.Second)
		cmd.Process.Kill()
		cmd.Wait()
		for _, f := range strings.Fields(pids) {
			pid, _ := strconv.Atoi(f)
			waitGone(t, pid)
		}
	})
}
