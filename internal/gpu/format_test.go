package gpu

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteInventory(t *testing.T) {
	na := h200()
	na.Devices[0].PowerW, na.Devices[0].UtilPct = nil, nil
	tests := []struct {
		name string
		inv  *Inventory
		err  error
		want string
	}{
		{"OneGPU", h200(), nil, "" +
			"GPU  NAME         MEMORY USED / TOTAL  UTIL  MEM UTIL  POWER    TEMP   BUS ID            UUID\n" +
			"0    NVIDIA H200  0 / 143771 MiB       0%    0%        79.72 W  36 °C  00000000:00:06.0  GPU-703f6a55-8249-cdee-4b5e-8c293bc03243\n" +
			"driver 580.159.04, CUDA 13.0\n"},
		{"NotAvailable", na, nil, "" +
			"GPU  NAME         MEMORY USED / TOTAL  UTIL  MEM UTIL  POWER  TEMP   BUS ID            UUID\n" +
			"0    NVIDIA H200  0 / 143771 MiB       -     0%        -      36 °C  00000000:00:06.0  GPU-703f6a55-8249-cdee-4b5e-8c293bc03243\n" +
			"driver 580.159.04, CUDA 13.0\n"},
		{"Unavailable", nil, &UnavailableError{Reason: "nvidia-smi exited with status 9: NVIDIA-SMI has failed"}, "no NVIDIA GPU found (nvidia-smi exited with status 9: NVIDIA-SMI has failed)\n"},
		{"OtherError", nil, errors.New("boom"), "no NVIDIA GPU found (boom)\n"},
		{"NoneListed", &Inventory{Driver: "580.159.04"}, nil, "no NVIDIA GPU found (nvidia-smi lists none; driver 580.159.04)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, WriteInventory(&b, tt.inv, tt.err))
			assert.Equal(t, tt.want, b.String())
		})
	}
}

func TestWriteFrameworks(t *testing.T) {
	out, _ := os.ReadFile("testdata/frameworks/gpu.txt")
	f, err := ParseFrameworks(out)
	require.NoError(t, err)
	var b bytes.Buffer
	WriteFrameworks(&b, f)
	want := "python 3.12.3 (/work/.venv/bin/python)\n" +
		"torch 2.11.0+cu130, built for CUDA 13.0, cuDNN 9.19.0\n" +
		"  CUDA available: 1 device(s): NVIDIA H200\n" +
		"tensorflow 2.20.0, built for CUDA 12.5.1, cuDNN 9\n" +
		"  GPUs: /physical_device:GPU:0\n"
	assert.Equal(t, want, b.String())
	b.Reset()
	WriteFrameworks(&b, &Frameworks{Python: "3.11.7", Executable: "/p/.venv/bin/python", Torch: &TorchInfo{Version: "2.11.0+cpu"}, TensorFlow: &TensorFlowInfo{Error: "ImportError: libcudart.so.12"}})
	want = "python 3.11.7 (/p/.venv/bin/python)\n" +
		"torch 2.11.0+cpu, built for CUDA -, cuDNN -\n" +
		"  CUDA available: no\n" +
		"tensorflow: import failed: ImportError: libcudart.so.12\n"
	assert.Equal(t, want, b.String())
}

func TestWriteChecks(t *testing.T) {
	checks := append(ScriptChecks(Torch, "testdata/checks/cpu", 0, nil), ScriptChecks(TensorFlow, "testdata/checks/missing", 1, nil)...)
	var b bytes.Buffer
	WriteChecks(&b, checks, false)
	want := "" +
		"FRAMEWORK   CHECK           RESULT  VALUE        DETAIL\n" +
		"torch       cuda_available  FAIL    -            no CUDA device: checks ran on CPU\n" +
		"torch       matmul_fp32     pass    0.2 TFLOP/s  1024x1024 on cpu\n" +
		"torch       matmul_bf16     skip    -            skipped: bf16 matmul is timed on a GPU only\n" +
		"torch       train_loop      pass    1.1 loss     50 steps: loss 2.3 -> 1.1\n" +
		"tensorflow  script          FAIL    -            exited with status 1 and wrote no checks.json\n" +
		"no GPU: the checks ran on CPU; 1 check(s) failed for want of one, which is no error\n"
	assert.Equal(t, want, b.String())
	b.Reset()
	WriteChecks(&b, ScriptChecks(Torch, "testdata/checks/gpu", 0, nil), true)
	want = "" +
		"FRAMEWORK  CHECK           RESULT  VALUE          DETAIL\n" +
		"torch      cuda_available  pass    1 devices      1 device: NVIDIA H200 (CUDA 13.0, cuDNN 91900)\n" +
		"torch      matmul_fp32     pass    51.23 TFLOP/s  4096x4096, median of 10\n" +
		"torch      matmul_bf16     FAIL    -              RuntimeError: CUDA error: no kernel image is available for execution on the device\n" +
		"torch      peak_memory     pass    1536.5 MiB     torch.cuda.max_memory_allocated\n" +
		"3 of 4 checks passed\n"
	assert.Equal(t, want, b.String())
}
