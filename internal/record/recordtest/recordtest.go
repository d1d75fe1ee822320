// Package recordtest holds the fixtures that the tests of several packages
// share: a run record and ledger events with every field set (the golden
// files of the on-disk formats are made from them), synthetic run ids, and
// the golden-file check with its -update flag.
package recordtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

// T0 is when synthetic runs start.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ID is the id of synthetic run i: time-ordered like a UUIDv7.
func ID(i int) string {
	return fmt.Sprintf("019b%04x-%04x-7000-8000-%012x", i>>16, i&0xffff, uint64(i)*0x9e3779b97f4a7c15>>16)
}

func init() {
	// Registered here unless another test file of the package already has
	// an -update flag: then both share it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/golden")
	}
}

func UpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var (
	GoldenStart = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC)
	GoldenEnd   = GoldenStart.Add(754*time.Second + 250*time.Millisecond)
)

const GoldenID = "019ce1a2-3b4c-7d5e-8f60-718293a4b5c6"

// GoldenRun is a run with every field set, so that the golden run.json
// shows every field's encoding (the values need not make a coherent run);
// TestGoldenRunIsFull keeps it so.
func GoldenRun() *record.Run {
	end, step := GoldenEnd, 12
	return &record.Run{
		ID: GoldenID, Experiment: "digits-mlp", ExperimentFile: "experiments/default.yaml",
		ExperimentHash: "sha256:5f1d9c0e", SweepID: "019ce1a0-0000-7000-8000-000000000001",
		Status: record.StatusFailed, ExitCode: 137, Error: "stage train: killed by SIGKILL (out of memory?)", PrunedStep: &step,
		Started: GoldenStart, Ended: &end, DurationSec: 754.25,
		Key:        "b3f1c2d4e5",
		Params:     map[string]any{"seed": 42.0, "train": map[string]any{"lr": 0.01, "device": "auto", "amp": true}},
		ParamsHash: "sha256:0a1b2c3d",
		Stages: []record.StageRecord{{
			Name: "train", Key: "b3f1c2d4e5", Cached: true, Started: GoldenStart, Ended: GoldenEnd, ExitCode: 137, Signal: "killed",
			Output: "runs/" + GoldenID + "/out", Log: "runs/" + GoldenID + "/logs/train.log",
			MaxRSS: 1 << 30, UserSec: 701.5, SysSec: 12.25, LogIncomplete: "cut short after 1048576 bytes: no space left on device",
		}},
		Metrics: map[string]float64{"val_accuracy": 0.9722, "val_loss": 0.0931},
		Process: record.Process{Host: "gpu-node-7", PID: 31337, PIDStart: 987654321, Started: GoldenStart},
		Git: &record.Git{
			SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Remote: "https://github.com/magelab/magelab.git",
			Dirty: true, Patch: "git.patch", Untracked: []record.UntrackedFile{{Path: "run.sh", Size: 20, Saved: true, Exec: true}, {Path: "notes.txt", Size: 12, Saved: true}, {Path: ".env", Size: 30}},
			Shallow: true, Worktree: true, Tool: "git",
			PatchIncomplete: "go-git cannot write binary patches: changes to model.bin are not in git.patch", Redacted: []string{"git.patch"}, Withheld: []string{".env"},
		},
		Env: record.Env{
			Python: ".venv/bin/python", PythonVersion: "3.12.3", RequirementsHash: "sha256:77aa", PipFreeze: "pip-freeze.txt",
			OS: "linux", Kernel: "6.8.0-45-generic", CPU: "AMD EPYC 9654 96-Core Processor", Cores: 192, RAMBytes: 1 << 40,
			Hostname: "gpu-node-7", Magelab: "v0.3.0", Vars: map[string]string{"CUDA_VISIBLE_DEVICES": "1", "PYTHONHASHSEED": "0"},
		},
		GPU: &record.GPU{Driver: "550.90.07", CUDA: "12.4", Devices: []record.GPUDevice{
			{Index: 1, UUID: "GPU-5f1d9c0e-0000-1111-2222-333344445555", Name: "NVIDIA H200", MemoryMiB: 143771},
		}, Telemetry: &record.GPUTelemetry{IntervalMS: 1000, Samples: 75, PeakMemoryMiB: 20480, MeanUtilPct: 61.5, MaxUtilPct: 98, MeanPowerW: 412.5, EnergyWh: 8.6}},
		Framework:  map[string]any{"torch": "2.5.1", "cuda": "12.4", "cudnn": 90100.0},
		Reproduces: "019ce19f-0000-7000-8000-0000000000aa", Verdict: "drifted",
		Warnings: []string{"git: shallow clone, history unknown"},
		MetricSources: map[string]record.MetricSource{
			"val_accuracy": {Stage: "train", Kind: record.MetricsTB, File: "out/tb/events.out.tfevents.1773500966.gpu-node-7.31337.0"},
			"val_loss":     {Stage: "train", Kind: record.MetricsRegex, File: "logs/train.log"},
		},
	}
}

// GoldenEvents is one event of each type, together setting every field.
func GoldenEvents() []record.Event {
	code, step := 137, 12
	return []record.Event{
		{Run: GoldenID, Type: record.EventRunStarted, Time: GoldenStart, Experiment: "digits-mlp",
			SweepID: "019ce1a0-0000-7000-8000-000000000001", Key: "b3f1c2d4e5",
			Params: map[string]any{"seed": 42.0, "train.lr": 0.01, "train.device": "auto"},
			Git:    &record.GitBrief{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Dirty: true},
			GPU:    "1x NVIDIA H200", Host: "gpu-node-7", PID: 31337, PIDStart: 987654321, Slurm: "4242_3",
			Reproduces: "019ce19f-0000-7000-8000-0000000000aa"},
		{Run: GoldenID, Type: record.EventRunFinished, Time: GoldenEnd, Status: record.StatusPreempted, ExitCode: &code,
			Duration: 754.25, Metrics: map[string]float64{"val_accuracy": 0.9722, "val_loss": 0.0931}, Verdict: "drifted", PrunedStep: &step,
			Error: "stage train exited with status 1"},
		{Run: GoldenID, Type: record.EventRunEvaluated, Time: GoldenEnd.Add(time.Minute),
			Metrics: map[string]float64{"test_accuracy": 0.9611}},
		{Type: record.EventSweepStarted, Time: GoldenStart, SweepID: "5e1f0c3a9b2d", Experiment: "digits-mlp",
			Spec: map[string]any{"method": "grid", "metric": "val_accuracy", "goal": "maximize",
				"parameters": map[string]any{"train.lr": []any{0.1, 0.01}}}, Host: "gpu-node-7", PID: 31337},
		{Type: record.EventSweepFinished, Time: GoldenEnd, SweepID: "5e1f0c3a9b2d", Status: record.StatusFailed,
			Trials: []string{GoldenID, ""}, Best: GoldenID},
	}
}

// CheckGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func CheckGolden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if UpdateGolden() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create it")
	// Compared as strings: equal exactly when the bytes are (bytes.Equal),
	// and a failure shows the text and a diff rather than byte values.
	assert.Equal(t, string(want), string(got), "%s differs from the golden file (run with -update if the change is intended)", name)
}
