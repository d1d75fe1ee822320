package tracking

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The on-disk formats (run.json, ledger lines) are compared with the files
// in testdata/golden; `go test ./internal/tracking -run Golden -update`
// rewrites them. A diff in review is then a format change, on purpose or not.

func init() {
	// Registered here unless another test file of the package already has
	// an -update flag: then both share it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/golden")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var (
	goldenStart = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC)
	goldenEnd   = goldenStart.Add(754*time.Second + 250*time.Millisecond)
)

const goldenID = "019ce1a2-3b4c-7d5e-8f60-718293a4b5c6"

// goldenRun is a run with every field set, so that the golden run.json
// shows every field's encoding (the values need not make a coherent run);
// TestGoldenRunIsFull keeps it so.
func goldenRun() *Run {
	end := goldenEnd
	return &Run{
		ID: goldenID, Experiment: "digits-mlp", ExperimentFile: "experiments/default.yaml",
		ExperimentHash: "sha256:5f1d9c0e", SweepID: "019ce1a0-0000-7000-8000-000000000001",
		Status: StatusFailed, ExitCode: 137, Error: "stage train: killed by SIGKILL (out of memory?)",
		Started: goldenStart, Ended: &end, DurationSec: 754.25,
		Key:        "b3f1c2d4e5",
		Params:     map[string]any{"seed": 42.0, "train": map[string]any{"lr": 0.01, "device": "auto", "amp": true}},
		ParamsHash: "sha256:0a1b2c3d",
		Stages: []StageRecord{{
			Name: "train", Key: "b3f1c2d4e5", Cached: true, Started: goldenStart, Ended: goldenEnd, ExitCode: 137, Signal: "killed",
			Output: "runs/" + goldenID + "/out", Log: "runs/" + goldenID + "/logs/train.log",
			MaxRSS: 1 << 30, UserSec: 701.5, SysSec: 12.25,
		}},
		Metrics: map[string]float64{"val_accuracy": 0.9722, "val_loss": 0.0931},
		Process: Process{Host: "gpu-node-7", PID: 31337, PIDStart: 987654321, Started: goldenStart},
		Git: &Git{
			SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Remote: "https://github.com/magelab/magelab.git",
			Dirty: true, Patch: "git.patch", Untracked: []UntrackedFile{{Path: "notes.txt", Size: 12, Saved: true}},
			Shallow: true, Worktree: true, Tool: "git",
		},
		Env: Env{
			Python: ".venv/bin/python", PythonVersion: "3.12.3", RequirementsHash: "sha256:77aa", PipFreeze: "pip-freeze.txt",
			OS: "linux", Kernel: "6.8.0-45-generic", CPU: "AMD EPYC 9654 96-Core Processor", Cores: 192, RAMBytes: 1 << 40,
			Hostname: "gpu-node-7", Magelab: "v0.3.0", Vars: map[string]string{"CUDA_VISIBLE_DEVICES": "1", "PYTHONHASHSEED": "0"},
		},
		GPU: &GPU{Driver: "550.90.07", CUDA: "12.4", Devices: []GPUDevice{
			{Index: 1, UUID: "GPU-5f1d9c0e-0000-1111-2222-333344445555", Name: "NVIDIA H200", MemoryMiB: 143771},
		}, Telemetry: &GPUTelemetry{IntervalMS: 1000, Samples: 75, PeakMemoryMiB: 20480, MeanUtilPct: 61.5, MaxUtilPct: 98, MeanPowerW: 412.5, EnergyWh: 8.6}},
		Framework:  map[string]any{"torch": "2.5.1", "cuda": "12.4", "cudnn": 90100.0},
		Reproduces: "019ce19f-0000-7000-8000-0000000000aa", Verdict: "drifted",
		Warnings: []string{"git: shallow clone, history unknown"},
	}
}

// goldenEvents is one event of each type, together setting every field.
func goldenEvents() []Event {
	code := 137
	return []Event{
		{Run: goldenID, Type: EventRunStarted, Time: goldenStart, Experiment: "digits-mlp",
			SweepID: "019ce1a0-0000-7000-8000-000000000001", Key: "b3f1c2d4e5",
			Params: map[string]any{"seed": 42.0, "train.lr": 0.01, "train.device": "auto"},
			Git:    &GitBrief{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Dirty: true},
			GPU:    "1x NVIDIA H200", Host: "gpu-node-7", PID: 31337, PIDStart: 987654321,
			Reproduces: "019ce19f-0000-7000-8000-0000000000aa"},
		{Run: goldenID, Type: EventRunFinished, Time: goldenEnd, Status: StatusFailed, ExitCode: &code,
			Duration: 754.25, Metrics: map[string]float64{"val_accuracy": 0.9722, "val_loss": 0.0931}, Verdict: "drifted"},
		{Run: goldenID, Type: EventRunEvaluated, Time: goldenEnd.Add(time.Minute),
			Metrics: map[string]float64{"test_accuracy": 0.9611}},
		{Type: EventSweepStarted, Time: goldenStart, SweepID: "5e1f0c3a9b2d", Experiment: "digits-mlp",
			Spec: map[string]any{"method": "grid", "metric": "val_accuracy", "goal": "maximize",
				"parameters": map[string]any{"train.lr": []any{0.1, 0.01}}}, Host: "gpu-node-7", PID: 31337},
		{Type: EventSweepFinished, Time: goldenEnd, SweepID: "5e1f0c3a9b2d", Status: StatusFailed,
			Trials: []string{goldenID, ""}, Best: goldenID},
	}
}

func TestGoldenRunJSON(t *testing.T) {
	l := Open(t.TempDir())
	if err := l.WriteRecord(goldenRun()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(l.RunDir(goldenID), "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "run.json", got)
	back, err := l.ReadRecord(goldenID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, goldenRun()) {
		t.Errorf("run.json does not read back as written:\ngot  %+v\nwant %+v", back, goldenRun())
	}
}

func TestGoldenLedgerLines(t *testing.T) {
	l := Open(t.TempDir())
	for _, ev := range goldenEvents() {
		mustAppend(t, l, ev)
	}
	got, err := os.ReadFile(l.path())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "ledger.jsonl", got)
	back, warnings, err := l.Events()
	if err != nil || len(warnings) != 0 || !reflect.DeepEqual(back, goldenEvents()) {
		t.Errorf("ledger does not read back as written (%v, %q):\ngot  %+v\nwant %+v", err, warnings, back, goldenEvents())
	}
}

// TestGoldenRunIsFull fails when a field is added to Run or Event without a
// value in the golden fixtures, whose files would then not show it.
func TestGoldenRunIsFull(t *testing.T) {
	for _, f := range unsetFields(reflect.ValueOf(*goldenRun()), "Run") {
		t.Errorf("%s is not set in goldenRun: give it a value and run with -update", f)
	}
	set := map[string]bool{}
	for _, ev := range goldenEvents() {
		v := reflect.ValueOf(ev)
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).IsZero() {
				set[v.Type().Field(i).Name] = true
			}
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Event{})) {
		if !set[f.Name] {
			t.Errorf("Event.%s is set by none of goldenEvents: give it a value and run with -update", f.Name)
		}
	}
}

// unsetFields lists the zero fields of a struct, looking into nested
// structs, pointers to them and the first element of slices.
func unsetFields(v reflect.Value, path string) []string {
	var out []string
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), path+"."+v.Type().Field(i).Name
		if f.IsZero() || (f.Kind() == reflect.Slice || f.Kind() == reflect.Map) && f.Len() == 0 {
			out = append(out, name)
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		if f.Kind() == reflect.Slice {
			f = f.Index(0)
		}
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
			out = append(out, unsetFields(f, name)...)
		}
	}
	return out
}

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
