package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashScript is a train stage that records its pid and its child's, then
// sleeps CRASH_NAP seconds without printing, so that it outlives a killed
// magelab, and ends normally with a metrics file.
const crashScript = `import argparse, json, os, subprocess, sys, time
ap = argparse.ArgumentParser()
ap.add_argument("--out")
a, _ = ap.parse_known_args()
nap = float(os.environ.get("CRASH_NAP", "0"))
child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({nap})"])
pids = os.path.join(os.environ["MAGELAB_RUN_DIR"], "pids")
open(pids + ".tmp", "w").write(f"{os.getpid()} {child.pid}")
os.rename(pids + ".tmp", pids)
print("training", flush=True)
time.sleep(nap)
child.wait()
json.dump({"loss": 0.5}, open(os.path.join(a.out, "metrics.json"), "w"))
`

// TestCrash kills magelab with SIGKILL while its train stage runs. Nothing
// of magelab runs after SIGKILL, so it cannot stop the stage's process
// group: the kernel kills the stage process itself (it was started with
// Pdeathsig), but what that process started is orphaned and runs until it
// ends on its own. What magelab does guarantee: the ledger stays readable,
// the run shows as crashed because its owning process is gone, and the next
// train works and records a finished run, even while an orphan still runs.
func TestCrash(t *testing.T) {
	p := newProject(t)
	p.write("python/crash/train.py", crashScript)
	p.write("experiments/crash.yaml", "name: crash\nrequirements: [python/requirements.txt]\nstages:\n  train: python/crash/train.py\n")
	const nap = 8 * time.Second
	p.env = []string{"CRASH_NAP=" + strconv.Itoa(int(nap.Seconds()))}
	cmd := p.command(magelabBin, "train", "-exp=crash")
	p.env = nil
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	pids := stagePIDs(t, waitForFile(t, p, "pids", 60*time.Second))
	crashed := p.newestRun()
	cmd.Process.Signal(syscall.SIGKILL) // magelab alone, as kill -9 PID does
	killed := time.Now()
	cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.Equal(t, syscall.SIGKILL, ws.Signal(), "magelab ended with %v before the kill:\n%s", cmd.ProcessState, out.String())
	ledger := ledger.Open(filepath.Join(p.dir, "runs"))

	t.Run("LedgerReadable", func(t *testing.T) {
		events, warnings, err := ledger.Events()
		require.NoError(t, err, "%d events, warnings %q, %v", len(events), warnings, err)
		require.Empty(t, warnings, "%d events, warnings %q, %v", len(events), warnings, err)
		var types []string
		for _, ev := range events {
			if ev.Run == crashed.ID {
				types = append(types, ev.Type)
			}
		}
		require.Equal(t, []string{record.EventRunStarted}, types, "the killed run has events %v, want only run.started", types)
	})
	t.Run("RunIsCrashed", func(t *testing.T) {
		s := summary(t, ledger, crashed.ID)
		require.Equal(t, record.StatusCrashed, s.Status, "status %s, want crashed", s.Status)
		r := p.readRun(crashed.ID)
		assert.Equal(t, record.StatusRunning, r.Status, "run.json says %s: the record stays as last written, crashed is inferred", r.Status)
		assert.Nil(t, r.Ended, "run.json says %s: the record stays as last written, crashed is inferred", r.Status)
	})
	t.Run("NextTrainWorks", func(t *testing.T) {
		r := p.mustMage("train", "-exp=crash")
		mustContain(t, r.out, "[train] training")
		next := p.newestRun()
		require.NotEqual(t, crashed.ID, next.ID, "next run %s: %s, metrics %v", next.ID, next.Status, next.Metrics)
		require.Equal(t, record.StatusFinished, next.Status, "next run %s: %s, metrics %v", next.ID, next.Status, next.Metrics)
		require.Equal(t, 0.5, next.Metrics["loss"], "next run %s: %s, metrics %v", next.ID, next.Status, next.Metrics)
		s := summary(t, ledger, next.ID)
		require.Equal(t, record.StatusFinished, s.Status, "next run folds as %s", s.Status)
		s = summary(t, ledger, crashed.ID)
		require.Equal(t, record.StatusCrashed, s.Status, "crashed run now folds as %s", s.Status)
	})
	t.Run("OrphanEndsOnItsOwn", func(t *testing.T) {
		for _, pid := range pids {
			waitEnded(t, pid, nap+20*time.Second)
		}
		t.Logf("the orphaned stage ended %s after magelab was killed", time.Since(killed).Round(100*time.Millisecond))
	})
}

// stagePIDs parses the "pid childpid" file the crash script writes.
func stagePIDs(t *testing.T, s string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err, "pids file %q", s)
		pids = append(pids, pid)
	}
	return pids
}

func summary(t *testing.T, l *ledger.Ledger, id string) record.Summary {
	t.Helper()
	runs, _, err := l.Summaries()
	require.NoError(t, err)
	for _, s := range runs {
		if s.ID == id {
			return s
		}
	}
	require.FailNow(t, fmt.Sprintf("run %s not in the ledger", id))
	return record.Summary{}
}

// waitEnded waits until pid has exited (a zombie counts: its new parent may
// be slow to reap it), and kills it if it outlives limit.
func waitEnded(t *testing.T, pid int, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH || isZombie(pid) {
			return
		}
	}
	assert.Fail(t, fmt.Sprintf("stage process %d still runs %s after the crash", pid, limit))
	syscall.Kill(pid, syscall.SIGKILL)
}
