package runner

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecSimple(t *testing.T) {
	tests := []struct{ line, want string }{
		{"python train.py --lr 0.01", "exec python train.py --lr 0.01"},
		{"python t.py --note 'a; b' --x \"c|d\"", "exec python t.py --note 'a; b' --x \"c|d\""},
		{"python prep.py && python train.py", ""},
		{"python t.py > out.txt", ""},
		{"python t.py; echo done", ""},
		{"python t.py --n $(nproc)", ""},
		{"python t.py --n `nproc`", ""},
		{"(cd sub && python t.py)", ""},
		{"OMP_NUM_THREADS=1 python t.py", ""},
		{"cd sub", ""},
		{"python t.py # comment", ""},
		{"python t.py\npython u.py", ""},
		{"python t.py --path a\\;b", ""},
		{"python t.py --home $HOME", "exec python t.py --home $HOME"},
	}
	for _, tc := range tests {
		want := tc.want
		if want == "" {
			want = tc.line
		}
		assert.Equal(t, want, execSimple(tc.line), "execSimple(%q)", tc.line)
	}
}

func TestStageCmd(t *testing.T) {
	params := config.Params{"seed": 42, "train": map[string]any{"lr": 0.01, "note": "a b"}}
	base := stageSpec{
		Root: "/proj", Python: "/proj/.venv/bin/python", Params: params, ParamsFile: "/run/params.json",
		Out: "/run/out", RunID: "r1", RunDir: "/run",
		BaseEnv: []string{"PATH=/usr/bin", "HOME=/root", "MAGELAB_RUN_ID=stale", "VIRTUAL_ENV=/other", "PYTHONHOME=/x"},
	}
	tests := []struct {
		name     string
		stage    config.Stage
		in       string
		model    string
		wantPath string
		wantArgs []string
		wantErr  string
	}{
		{"ScriptFirstStage", config.Stage{Name: "setup-data", Script: "python/s.py"}, "", "",
			"/proj/.venv/bin/python", []string{"/proj/python/s.py", "--params", "/run/params.json", "--out", "/run/out"}, ""},
		{"ScriptWithInput", config.Stage{Name: "train", Script: "python/t.py"}, "/cache/pre/out", "",
			"/proj/.venv/bin/python", []string{"/proj/python/t.py", "--params", "/run/params.json", "--out", "/run/out", "--in", "/cache/pre/out"}, ""},
		{"ScriptEvalWithModel", config.Stage{Name: "eval", Script: "python/e.py"}, "/d", "/run/out",
			"/proj/.venv/bin/python", []string{"/proj/python/e.py", "--params", "/run/params.json", "--out", "/run/out", "--in", "/d", "--model", "/run/out"}, ""},
		{"CommandTemplate", config.Stage{Name: "train", Cmd: "python train.py --lr ${train.lr} --note ${train.note} --save ${out}/m.pt"}, "", "",
			"/bin/sh", []string{"-c", "exec python train.py --lr 0.01 --note 'a b' --save /run/out/m.pt"}, ""},
		{"CommandPipeline", config.Stage{Name: "train", Cmd: "python train.py ${train.lr} | tee ${out}/log"}, "", "",
			"/bin/sh", []string{"-c", "python train.py 0.01 | tee /run/out/log"}, ""},
		{"CommandUnknownName", config.Stage{Name: "train", Cmd: "python train.py --lr ${train.lrr}"}, "", "",
			"", nil, "train.lrr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.Stage, s.In, s.Model = tc.stage, tc.in, tc.model
			path, args, env, err := stageCmd(s)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantPath, path, "path")
			require.Equal(t, tc.wantArgs, args, "args")
			checkEnv(t, env, map[string]string{
				"PATH": "/proj/.venv/bin:/usr/bin", "HOME": "/root", "VIRTUAL_ENV": "/proj/.venv",
				"MAGELAB_RUN_ID": "r1", "MAGELAB_RUN_DIR": "/run", "MAGELAB_STAGE": tc.stage.Name,
				"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PYTHONUNBUFFERED": "1", "PYTHONHOME": "",
			})
		})
	}
}

func TestStageEnvKeepsUserDeviceOrder(t *testing.T) {
	env := stageEnv(stageSpec{Stage: config.Stage{Name: "train"}, Python: "/v/bin/python", BaseEnv: []string{"CUDA_DEVICE_ORDER=FASTEST_FIRST"}})
	checkEnv(t, env, map[string]string{"CUDA_DEVICE_ORDER": "FASTEST_FIRST", "PATH": "/v/bin", "MAGELAB_RUN_ID": ""})
}

// checkEnv asserts each key has the wanted value ("" = absent) and appears once.
func checkEnv(t *testing.T, env []string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		_, dup := got[k]
		assert.False(t, dup, "env has %s twice", k)
		got[k] = v
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], "env %s", k)
	}
}

// TestRunStageStoppedBeforeItStarts: a stage whose context is done before
// its process could start (a sweep cancelling a trial that is still
// stamping) is interrupted, like one stopped while it ran — not a command
// that failed to start (127), which would record the run as failed.
func TestRunStageStoppedBeforeItStarts(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := stageSpec{Stage: config.Stage{Name: "train", Script: "train.py"}, Root: dir, Python: "/bin/true",
		Params: config.Params{"seed": 1}, ParamsFile: filepath.Join(dir, "params.json"), Out: dir, RunID: "r1", RunDir: dir}
	rec, err := runStage(ctx, s, filepath.Join(dir, "logs", "train.log"), io.Discard)
	var se *StageError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, proc.ExitInterrupted, se.ExitCode)
	assert.Equal(t, proc.ExitInterrupted, rec.ExitCode)
	assert.Equal(t, 130, se.ExitStatus(), "the target exits 130, as for Ctrl-C")
}
