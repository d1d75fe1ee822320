package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFrameworks(t *testing.T) {
	out, err := os.ReadFile("testdata/frameworks/gpu.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFrameworks(out)
	if err != nil {
		t.Fatal(err)
	}
	want := &Frameworks{Python: "3.12.3", Executable: "/work/.venv/bin/python",
		Torch:      &TorchInfo{Version: "2.11.0+cu130", CUDA: "13.0", CUDAAvailable: true, DeviceCount: 1, Devices: []string{"NVIDIA H200"}, CuDNN: 91900},
		TensorFlow: &TensorFlowInfo{Version: "2.20.0", GPUs: []string{"/physical_device:GPU:0"}, BuiltWithCUDA: true, CUDA: "12.5.1", CuDNN: "9"}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("ParseFrameworks =\n%s\nwant\n%s", dump(f), dump(want))
	}
	if _, err := ParseFrameworks([]byte("Traceback (most recent call last):\nSyntaxError: bad\n")); err == nil || !strings.Contains(err.Error(), "SyntaxError: bad") {
		t.Errorf("no report: err = %v, want the output's tail", err)
	}
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
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := ParseFrameworks(out)
	if err != nil {
		t.Fatal(err)
	}
	wantTorch := &TorchInfo{Version: "2.11.0+cu130", CUDA: "13.0", CUDAAvailable: true, DeviceCount: 2, Devices: []string{"NVIDIA H200 #0", "NVIDIA H200 #1"}, CuDNN: 91900}
	if !reflect.DeepEqual(f.Torch, wantTorch) || f.Python == "" {
		t.Errorf("torch = %s, want %s", dump(f.Torch), dump(wantTorch))
	}
	if tf := f.TensorFlow; tf == nil || tf.Version != "" || tf.Error != "ImportError: libcudart.so.12: cannot open shared object file: No such file or directory" {
		t.Errorf("tensorflow = %s, want its import error", dump(tf))
	}

	// Without the fakes: python3 as installed here, whatever it has; the
	// probe must report, not crash.
	path, args, env = ProbeCommand(python, []string{"PATH=" + os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1"})
	cmd = exec.Command(path, args...)
	cmd.Env = env
	if out, err = cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := ParseFrameworks(out); err != nil {
		t.Error(err)
	}
}

func TestCuDNNVersion(t *testing.T) {
	for v, want := range map[int]string{91900: "9.19.0", 90100: "9.1.0", 8902: "8.9.2", 7605: "7.6.5", 0: ""} {
		if got := CuDNNVersion(v); got != want {
			t.Errorf("CuDNNVersion(%d) = %q, want %q", v, got, want)
		}
	}
}
