package gpu

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadChecks(t *testing.T) {
	checks, err := ReadChecks("testdata/checks/gpu", Torch)
	require.NoError(t, err)
	want := []Check{
		{Framework: Torch, Name: "cuda_available", OK: true, Detail: "1 device: NVIDIA H200 (CUDA 13.0, cuDNN 91900)", Value: ptr(1), Unit: "devices"},
		{Framework: Torch, Name: "matmul_fp32", OK: true, Detail: "4096x4096, median of 10", Value: ptr(51.23456), Unit: "TFLOP/s"},
		{Framework: Torch, Name: "matmul_bf16", Detail: "RuntimeError: CUDA error: no kernel image is available for execution on the device"},
		{Framework: Torch, Name: "peak_memory", OK: true, Detail: "torch.cuda.max_memory_allocated", Value: ptr(1536.5), Unit: "MiB"},
	}
	assert.Equal(t, want, checks, "ReadChecks =\n%s\nwant\n%s", dump(checks), dump(want))
	for dir, msg := range map[string]string{
		"testdata/checks/invalid": "cannot unmarshal object",
		"testdata/checks/noname":  "check 1 has no name",
		"testdata/checks/missing": "no such file",
	} {
		_, err := ReadChecks(dir, Torch)
		assert.ErrorContains(t, err, msg, "ReadChecks(%s), want an error naming the file with %q", dir, msg)
		assert.ErrorContains(t, err, dir, "ReadChecks(%s), want an error naming the file with %q", dir, msg)
	}
}

func TestScriptChecks(t *testing.T) {
	tests := []struct {
		name     string
		dir      string
		exit     int
		runErr   error
		want     []string // "name ok setup" per check
		wantTail string   // detail of the last check
	}{
		{"Passed", "testdata/checks/cpu", 0, nil, []string{"cuda_available false false", "matmul_fp32 true false", "matmul_bf16 true false", "train_loop true false"}, "50 steps: loss 2.3 -> 1.1"},
		{"CrashedAfterWriting", "testdata/checks/cpu", 1, nil, []string{"cuda_available false false", "matmul_fp32 true false", "matmul_bf16 true false", "train_loop true false", "script false true"}, "exited with status 1"},
		{"CrashedBeforeWriting", "testdata/checks/missing", 1, nil, []string{"script false true"}, "exited with status 1 and wrote no checks.json"},
		{"ExitedZeroWithoutChecks", "testdata/checks/missing", 0, nil, []string{"script false true"}, "no such file"},
		{"WroteEmptyList", "testdata/checks/empty", 0, nil, []string{"script false true"}, "wrote no checks"},
		{"WroteGarbage", "testdata/checks/invalid", 0, nil, []string{"script false true"}, "want a list of"},
		{"DidNotStart", "testdata/checks/cpu", 127, fmt.Errorf("start .venv/bin/python: %w", fs.ErrNotExist), []string{"script false true"}, "start .venv/bin/python"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScriptChecks(TensorFlow, tt.dir, tt.exit, tt.runErr)
			var short []string
			for _, c := range got {
				assert.Equal(t, TensorFlow, c.Framework, "check %s has the wrong framework", c.Name)
				short = append(short, fmt.Sprintf("%s %t %t", c.Name, c.OK, c.Setup))
			}
			assert.Equal(t, tt.want, short, "ScriptChecks (last detail %q)", got[len(got)-1].Detail)
			assert.Contains(t, got[len(got)-1].Detail, tt.wantTail, "ScriptChecks = %q: last detail", short)
		})
	}
}

func TestVerdict(t *testing.T) {
	gpuRun := ScriptChecks(Torch, "testdata/checks/gpu", 0, nil)
	cpuRun := ScriptChecks(Torch, "testdata/checks/cpu", 0, nil)
	crashed := ScriptChecks(TensorFlow, "testdata/checks/missing", 1, nil)
	passed := []Check{{Framework: Torch, Name: "cuda_available", OK: true}}
	tests := []struct {
		name   string
		checks []Check
		gpu    bool
		failed []string
	}{
		{"GPUAllPassed", passed, true, nil},
		{"GPUFrameworkCannotUseIt", gpuRun, true, []string{"torch matmul_bf16"}},
		{"CPUCUDAChecksExcused", cpuRun, false, nil},
		{"CPUScriptCrashFails", append(cpuRun, crashed...), false, []string{"tensorflow script"}},
		{"GPUEveryFailureCounts", append(cpuRun, crashed...), true, []string{"torch cuda_available", "tensorflow script"}},
		{"NoChecksNoFailure", nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verdict(tt.checks, tt.gpu)
			var ce *CheckError
			if tt.failed == nil {
				require.NoError(t, err, "Verdict")
				return
			}
			require.ErrorAs(t, err, &ce, "Verdict = %#v, want a *CheckError with exit status 1", err)
			require.Equal(t, 1, ce.ExitStatus(), "Verdict = %#v, want a *CheckError with exit status 1", err)
			require.Equal(t, len(tt.checks), ce.Total, "Verdict = %#v: total", err)
			var names []string
			for _, c := range ce.Failed {
				names = append(names, c.Framework+" "+c.Name)
				assert.ErrorContains(t, err, c.Framework+" "+c.Name+": ", "message does not name %s %s", c.Framework, c.Name)
			}
			assert.Equal(t, tt.failed, names, "failed")
		})
	}
}

func TestCheckPlan(t *testing.T) {
	torch := &TorchInfo{Version: "2.11.0+cu130"}
	tests := []struct {
		name    string
		fw      *Frameworks
		scripts []Script
		failed  []string
	}{
		{"ProbeFailedRunsTorch", nil, []Script{{Torch, TorchScript}}, nil},
		{"TorchOnly", &Frameworks{Torch: torch}, []Script{{Torch, TorchScript}}, nil},
		{"Both", &Frameworks{Torch: torch, TensorFlow: &TensorFlowInfo{Version: "2.20.0"}}, []Script{{Torch, TorchScript}, {TensorFlow, TFScript}}, nil},
		{"TensorFlowBroken", &Frameworks{Torch: torch, TensorFlow: &TensorFlowInfo{Error: "ImportError: libcudart.so.12"}}, []Script{{Torch, TorchScript}}, []string{"tensorflow import: ImportError: libcudart.so.12"}},
		{"TorchMissing", &Frameworks{}, nil, []string{"torch import: torch is not installed in the venv: add it to the experiment's requirements"}},
		{"TorchBroken", &Frameworks{Torch: &TorchInfo{Error: "OSError: libtorch_cuda.so"}}, nil, []string{"torch import: OSError: libtorch_cuda.so"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scripts, failed := CheckPlan(tt.fw)
			var names []string
			for _, c := range failed {
				assert.False(t, c.OK, "check %+v should be a failed setup check", c)
				assert.True(t, c.Setup, "check %+v should be a failed setup check", c)
				names = append(names, c.Framework+" "+c.Name+": "+c.Detail)
			}
			assert.Equal(t, tt.scripts, scripts, "CheckPlan scripts")
			assert.Equal(t, tt.failed, names, "CheckPlan failed checks")
		})
	}
}
