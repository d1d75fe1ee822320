package ledger

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

// The reliability tests run real processes against real files: the test
// binary runs itself again as TestLedgerHelperProcess, which appends to a
// ledger as magelab would.

// TestLedgerHelperProcess is not a test: it is the body of the helper
// processes, and does nothing unless GO_WANT_HELPER_PROCESS=1.
func TestLedgerHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
			break
		}
	}
	if err := ledgerHelperMain(args); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ledgerHelperMain runs one helper:
//
//	append DIR WORKER N   wait for DIR/go, then append N runs (started + finished)
//	flood DIR BYTES       append runs whose events are BYTES long, until killed
func ledgerHelperMain(args []string) error {
	if len(args) != 4 && len(args) != 3 {
		return fmt.Errorf("usage: append DIR WORKER N | flood DIR BYTES; got %q", args)
	}
	l := Open(args[1])
	switch args[0] {
	case "append":
		n, _ := strconv.Atoi(args[3])
		for !fileExists(filepath.Join(args[1], "go")) {
			time.Sleep(time.Millisecond)
		}
		for i := 0; i < n; i++ {
			if err := appendRun(l, "worker-"+args[2], i, ""); err != nil {
				return err
			}
		}
		return nil
	case "flood":
		size, _ := strconv.Atoi(args[2])
		pad := strings.Repeat("x", size)
		for i := 0; ; i++ {
			if err := appendRun(l, "flood", i, pad); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown helper %q", args[0])
}

// appendRun appends a run's started and finished events, shaped like real
// ones: ~20 params, ~10 metrics, a git stamp, the owning process.
func appendRun(l *Ledger, experiment string, i int, pad string) error {
	id, err := record.NewID()
	if err != nil {
		return err
	}
	params := map[string]any{
		"seed": 42, "data.test_size": 0.2, "data.shuffle": true, "data.source": "digits",
		"train.lr": 0.001 * float64(i%7+1), "train.epochs": 30, "train.batch_size": 64, "train.hidden": 128,
		"train.device": "auto", "train.optimizer": "adamw", "train.weight_decay": 0.01, "train.warmup": 100,
		"train.dropout": 0.1, "train.layers": 3, "train.grad_clip": 1.0, "train.scheduler": "cosine",
		"model.arch": "mlp", "model.activation": "gelu", "eval.batch_size": 256, "eval.tta": false,
	}
	if pad != "" {
		params["pad"] = pad
	}
	started := record.Event{Run: id, Type: record.EventRunStarted, Time: time.Now().UTC(), Experiment: experiment, Key: fmt.Sprintf("%064x", i),
		Params: params, Git: &record.GitBrief{SHA: strings.Repeat("ab", 20), Branch: "main", Dirty: i%2 == 0},
		GPU: "1x NVIDIA H200", Host: "node-1", PID: os.Getpid(), PIDStart: 123456}
	if err := l.Append(started); err != nil {
		return err
	}
	code := 0
	metrics := map[string]float64{}
	for _, m := range []string{"val_accuracy", "val_loss", "train_loss", "train_accuracy", "test_accuracy",
		"f1", "precision", "recall", "epoch_time_s", "peak_mem_gb"} {
		metrics[m] = float64(i%100) / 100
	}
	return l.Append(record.Event{Run: id, Type: record.EventRunFinished, Time: time.Now().UTC(), Status: record.StatusFinished,
		ExitCode: &code, Duration: 12.5, Metrics: metrics})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func ledgerHelper(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestLedgerHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1")
	return cmd
}

// TestConcurrentProcessesAppend: 16 processes appending concurrently, 200
// runs each: every run present exactly once, no torn lines.
func TestConcurrentProcessesAppend(t *testing.T) {
	const workers, runs = 16, 200
	l := Open(t.TempDir())
	cmds := make([]*exec.Cmd, workers)
	outs := make([]bytes.Buffer, workers)
	for w := range cmds {
		cmds[w] = ledgerHelper("append", l.Dir, strconv.Itoa(w), strconv.Itoa(runs))
		cmds[w].Stdout, cmds[w].Stderr = &outs[w], &outs[w]
		require.NoError(t, cmds[w].Start())
	}
	// All start appending at once, not one after another as they come up.
	mustWrite(t, filepath.Join(l.Dir, "go"), "")
	for w, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "worker %d:\n%s", w, outs[w].String())
	}
	events, warnings, err := l.Events()
	require.NoError(t, err, "Events: warnings %q", warnings)
	require.Empty(t, warnings, "Events: %v, warnings %q", err, warnings)
	types := map[string][]string{}
	perWorker := map[string]int{}
	for _, ev := range events {
		types[ev.Run] = append(types[ev.Run], ev.Type)
		if ev.Type == record.EventRunStarted {
			perWorker[ev.Experiment]++
			require.Len(t, ev.Params, 20, "run %s: %d params", ev.Run, len(ev.Params))
		} else {
			require.Len(t, ev.Metrics, 10, "run %s: %d metrics", ev.Run, len(ev.Metrics))
		}
	}
	require.Len(t, types, workers*runs, "%d runs, want %d", len(types), workers*runs)
	for id, ts := range types {
		require.Equal(t, "run.started run.finished", strings.Join(ts, " "), "run %s has events %v, want started then finished, once each", id, ts)
	}
	for w := 0; w < workers; w++ {
		n := perWorker["worker-"+strconv.Itoa(w)]
		assert.Equal(t, runs, n, "worker %d: %d runs, want %d", w, n, runs)
	}
}

// TestKillDuringLedgerWrite SIGKILLs a process that appends large events in
// a tight loop, several times at random moments. Each time the ledger must
// read without error, with at most its last line torn (and then reported),
// and the next append, by the next process, must work.
func TestKillDuringLedgerWrite(t *testing.T) {
	const kills, size = 8, 1000 << 10 // events just under record.MaxEventLine: the kernel copies a write this big in many steps
	l := Open(t.TempDir())
	torn := 0
	for k := 0; k < kills; k++ {
		before := ledgerSize(l)
		cmd := ledgerHelper("flood", l.Dir, strconv.Itoa(size))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		for deadline := time.Now().Add(30 * time.Second); ledgerSize(l) == before; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				require.FailNow(t, "the helper wrote nothing in 30s", out.String())
			}
		}
		time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		require.ErrorContains(t, err, "killed", "kill %d: helper ended with %v\n%s", k, err, out.String())
		if checkAfterKill(t, l, size) {
			torn++
		}
	}
	t.Logf("%d of %d kills cut a line short", torn, kills)
	last := record.Event{Run: "after-the-kills", Type: record.EventRunStarted, Experiment: "survivor"}
	mustAppend(t, l, last)
	events, warnings, err := l.Events()
	require.NoError(t, err, "Events: %d warnings for %d torn lines: %q", len(warnings), torn, warnings)
	require.Len(t, warnings, torn, "Events: %v, %d warnings for %d torn lines: %q", err, len(warnings), torn, warnings)
	got := events[len(events)-1]
	require.Equal(t, last.Run, got.Run, "last event %+v, want %+v", got, last)
	require.Equal(t, last.Experiment, got.Experiment, "last event %+v, want %+v", got, last)
}

// checkAfterKill checks the ledger as a kill left it and reports whether
// its last line is torn.
func checkAfterKill(t *testing.T, l *Ledger, size int) bool {
	t.Helper()
	data, err := os.ReadFile(l.Path())
	require.NoError(t, err)
	events, warnings, err := l.Events()
	require.NoError(t, err, "Events after a kill")
	for _, ev := range events {
		if ev.Type == record.EventRunStarted {
			require.Equal(t, size, len(ev.Params["pad"].(string)), "run %s: an event came back partial", ev.Run)
		}
	}
	torn := len(data) > 0 && data[len(data)-1] != '\n'
	lines := bytes.Count(data, []byte("\n"))
	if torn {
		lines++
		last := fmt.Sprintf("ledger.jsonl:%d: skipped", lines)
		require.NotEmpty(t, warnings, "a torn last line (%d) not reported: %q", lines, warnings)
		require.Contains(t, warnings[len(warnings)-1], last, "a torn last line (%d) not reported: %q", lines, warnings)
	}
	return torn
}

func ledgerSize(l *Ledger) int64 {
	st, err := os.Stat(l.Path())
	if err != nil {
		return 0
	}
	return st.Size()
}

// TestTornTail cuts the ledger's last line short, as a crash in the middle
// of a write would, and checks reading and the next append.
func TestTornTail(t *testing.T) {
	tests := []struct {
		name     string
		keep     func(n int) int // bytes to keep of the last line, n with its newline
		events   int             // read back after the cut, of the 6 written
		warnings int
	}{
		{"MidLine", func(n int) int { return n / 2 }, 5, 1},
		{"OneByte", func(int) int { return 1 }, 5, 1},
		{"OnlyTheNewline", func(n int) int { return n - 1 }, 6, 0},
		{"WholeLine", func(int) int { return 0 }, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Open(t.TempDir())
			for i := 0; i < 3; i++ {
				require.NoError(t, appendRun(l, "exp", i, ""))
			}
			data, _ := os.ReadFile(l.Path())
			lastStart := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
			keep := lastStart + tc.keep(len(data)-lastStart)
			require.NoError(t, os.Truncate(l.Path(), int64(keep)))
			events, warnings, err := l.Events()
			require.NoError(t, err, "after the cut: %d events, %q", len(events), warnings)
			require.Len(t, events, tc.events, "after the cut: %d events, %q, %v", len(events), warnings, err)
			require.Len(t, warnings, tc.warnings, "after the cut: %d events, %q, %v", len(events), warnings, err)
			if tc.warnings > 0 {
				assert.Contains(t, warnings[0], "ledger.jsonl:6: skipped an unreadable line", "warning %q does not name line 6", warnings[0])
			}
			next := record.Event{Run: "next", Type: record.EventRunStarted, Experiment: "exp"}
			mustAppend(t, l, next)
			events, warnings, err = l.Events()
			require.NoError(t, err, "after the next append: %d events, %q", len(events), warnings)
			require.Len(t, events, tc.events+1, "after the next append: %d events, %q, %v", len(events), warnings, err)
			require.Len(t, warnings, tc.warnings, "after the next append: %d events, %q, %v", len(events), warnings, err)
			require.Equal(t, "next", events[len(events)-1].Run, "last event %+v", events[len(events)-1])
		})
	}
}
