package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFrameworks(t *testing.T) {
	out, err := os.ReadFile("testdata/frameworks/gpu.txt")
	require.NoError(t, err)
	f, err := ParseFrameworks(out)
	require.NoError(t, err)
	want := &Frameworks{Python: "3.12.3", Executable: "/work/.venv/bin/python",
		Torch:      &TorchInfo{Version: "2.11.0+cu130", CUDA: "13.0", CUDAAvailable: true, DeviceCount: 1, Devices: []string{"NVIDIA H200"}, CuDNN: 91900},
		TensorFlow: &TensorFlowInfo{Version: "2.20.0", GPUs: []string{"/physical_device:GPU:0"}, BuiltWithCUDA: true, CUDA: "12.5.1", CuDNN: "9"}}
	assert.Equal(t, want, f, "ParseFrameworks =\n%s\nwant\n%s", dump(f), dump(want))
	_, err = ParseFrameworks([]byte("Traceback (most recent call last):\nSyntaxError: bad\n"))
	assert.ErrorContains(t, err, "SyntaxError: bad", "no report: want the output's tail")
}

// TestProbe runs the real probe with python3 on fake torch (CUDA, two
// GPUs) and tensorflow (fails to import) packages.
func TestProbe(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	mods, _ := filepath.Abs("testdata/frameworks/fakemods")
	path, args, env := ProbeCommand(python, []string{"PATH=" + os.Getenv("PATH"), "PYTHONPATH=" + mods, "PYTHONDONTWRITEBYTECODE=1"})
	cmd := exec.Command(path, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, err := ParseFrameworks(out)
	require.NoError(t, err)
	wantTorch := &TorchInfo{Version: "2.11.0+cu130", CUDA: "13.0", CUDAAvailable: true, DeviceCount: 2, Devices: []string{"NVIDIA H200 #0", "NVIDIA H200 #1"}, CuDNN: 91900}
	assert.Equal(t, wantTorch, f.Torch, "torch = %s, want %s", dump(f.Torch), dump(wantTorch))
	assert.NotEmpty(t, f.Python, "python")
	if tf := f.TensorFlow; assert.NotNil(t, tf, "tensorflow, want its import error") {
		assert.Empty(t, tf.Version, "tensorflow = %s, want its import error", dump(tf))
		assert.Equal(t, "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory", tf.Error, "tensorflow = %s, want its import error", dump(tf))
	}

	// Without the fakes: python3 as installed here, whatever it has; the
	// probe must report, not crash.
	path, args, env = ProbeCommand(python, []string{"PATH=" + os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1"})
	cmd = exec.Command(path, args...)
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, err = ParseFrameworks(out)
	assert.NoError(t, err)
}

func TestCuDNNVersion(t *testing.T) {
	for v, want := range map[int]string{91900: "9.19.0", 90100: "9.1.0", 8902: "8.9.2", 7605: "7.6.5", 0: ""} {
		assert.Equal(t, want, CuDNNVersion(v), "CuDNNVersion(%d)", v)
	}
}
