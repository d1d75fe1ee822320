package gpu

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed frameworks.py
var probeScript string

// probeMarker starts the probe's line of JSON; the rest of the output is
// the frameworks' chatter (TensorFlow logs on import).
const probeMarker = "MAGELAB_FRAMEWORKS "

// Frameworks is what the ML frameworks in a venv see. A nil framework is
// not installed.
type Frameworks struct {
	Python     string          `json:"python"`
	Executable string          `json:"executable"`
	Torch      *TorchInfo      `json:"torch"`
	TensorFlow *TensorFlowInfo `json:"tensorflow"`
}

// TorchInfo is PyTorch's view. Error is set when it failed to import (the
// other fields are then empty) or to query CUDA.
type TorchInfo struct {
	Version       string   `json:"version"`
	CUDA          string   `json:"cuda"` // the CUDA it was built with; "" for a CPU build
	CUDAAvailable bool     `json:"cuda_available"`
	DeviceCount   int      `json:"device_count"`
	Devices       []string `json:"devices"`
	CuDNN         int      `json:"cudnn"` // as torch.backends.cudnn.version(): 91900 is 9.19.0; 0 when absent
	Error         string   `json:"error"`
}

// TensorFlowInfo is TensorFlow's view, like TorchInfo.
type TensorFlowInfo struct {
	Version       string   `json:"version"`
	GPUs          []string `json:"gpus"`
	BuiltWithCUDA bool     `json:"built_with_cuda"`
	CUDA          string   `json:"cuda"`
	CuDNN         string   `json:"cudnn"`
	Error         string   `json:"error"`
}

// ProbeCommand builds `PYTHON -c <probe>`, whose output ParseFrameworks
// reads. The environment is that of a check script.
func ProbeCommand(python string, base []string) (path string, args, env []string) {
	return python, []string{"-c", probeScript}, childEnv(python, base, "", nil)
}

// ParseFrameworks reads the probe's output.
func ParseFrameworks(out []byte) (*Frameworks, error) {
	var last string
	for line := range strings.Lines(string(out)) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), strings.TrimSpace(probeMarker)); ok {
			last = s
		}
	}
	if last == "" {
		return nil, fmt.Errorf("the framework probe printed no report; its output ends:\n%s", tailLines(out, 10))
	}
	var f Frameworks
	if err := json.Unmarshal([]byte(last), &f); err != nil {
		return nil, fmt.Errorf("read the framework probe's report: %w", err)
	}
	return &f, nil
}

// CuDNNVersion spells torch's cuDNN version number: 91900 is "9.19.0"
// (major·10000 from cuDNN 9 on), 8902 is "8.9.2" (major·1000 before).
func CuDNNVersion(v int) string {
	switch {
	case v <= 0:
		return ""
	case v >= 90000:
		return fmt.Sprintf("%d.%d.%d", v/10000, v%10000/100, v%100)
	default:
		return fmt.Sprintf("%d.%d.%d", v/1000, v%1000/100, v%100)
	}
}

// tailLines is the last n lines of out, indented.
func tailLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
