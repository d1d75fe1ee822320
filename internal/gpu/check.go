package gpu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The check scripts gpu:check runs, relative to the project root, and the
// frameworks they check.
const (
	TorchScript = "python/gpu/check_torch.py"
	TFScript    = "python/gpu/check_tf.py"

	Torch      = "torch"
	TensorFlow = "tensorflow"
)

// ChecksFile is the file each check script writes in its output directory.
const ChecksFile = "checks.json"

// Check is one line of a check script's checks.json. A check that does not
// apply is ok with a detail starting "skipped:".
type Check struct {
	Framework string   `json:"-"` // Torch or TensorFlow, set by ReadChecks
	Name      string   `json:"name"`
	OK        bool     `json:"ok"`
	Detail    string   `json:"detail"`
	Value     *float64 `json:"value"` // nil when the check measures nothing
	Unit      string   `json:"unit"`
	// Setup marks a check that magelab adds because the script could not
	// check anything: it crashed, wrote no checks.json, or its framework
	// is missing. It fails gpu:check with or without a GPU.
	Setup bool `json:"-"`
}

// Skipped reports whether the check did not apply.
func (c Check) Skipped() bool { return c.OK && strings.HasPrefix(c.Detail, "skipped") }

// Script is one check script to run for a framework.
type Script struct {
	Framework string
	Path      string // relative to the project root
}

// CheckPlan returns the scripts to run given what the venv's frameworks
// are (nil when the probe failed): PyTorch's always, TensorFlow's when
// tensorflow imports. A framework that is missing (torch) or installed but
// broken (either) is a failed setup check instead of a script.
func CheckPlan(fw *Frameworks) ([]Script, []Check) {
	var scripts []Script
	var failed []Check
	switch {
	case fw != nil && fw.Torch == nil:
		failed = append(failed, setupCheck(Torch, "import", "torch is not installed in the venv: add it to the experiment's requirements"))
	case fw != nil && fw.Torch.Error != "":
		failed = append(failed, setupCheck(Torch, "import", fw.Torch.Error))
	default:
		scripts = append(scripts, Script{Torch, TorchScript})
	}
	switch {
	case fw == nil || fw.TensorFlow == nil:
	case fw.TensorFlow.Error != "":
		failed = append(failed, setupCheck(TensorFlow, "import", fw.TensorFlow.Error))
	default:
		scripts = append(scripts, Script{TensorFlow, TFScript})
	}
	return scripts, failed
}

func setupCheck(framework, name, detail string) Check {
	return Check{Framework: framework, Name: name, Detail: detail, Setup: true}
}

// ReadChecks reads dir/checks.json, written by the check script of framework.
func ReadChecks(dir, framework string) ([]Check, error) {
	path := filepath.Join(dir, ChecksFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var checks []Check
	if err := json.Unmarshal(b, &checks); err != nil {
		return nil, fmt.Errorf("read %s: %w; want a list of {\"name\", \"ok\", \"detail\", \"value\", \"unit\"}", path, err)
	}
	for i := range checks {
		if checks[i].Name == "" {
			return nil, fmt.Errorf("read %s: check %d has no name", path, i+1)
		}
		checks[i].Framework = framework
	}
	return checks, nil
}

// ScriptChecks are the checks of one script's run: those of its
// checks.json, and a failed setup check when it could not be started
// (runErr), exited with a non-zero status, or wrote no valid checks.json.
func ScriptChecks(framework, dir string, exitCode int, runErr error) []Check {
	if runErr != nil {
		return []Check{setupCheck(framework, "script", runErr.Error())}
	}
	checks, err := ReadChecks(dir, framework)
	switch {
	case errors.Is(err, fs.ErrNotExist) && exitCode != 0:
		return []Check{setupCheck(framework, "script", fmt.Sprintf("exited with status %d and wrote no %s", exitCode, ChecksFile))}
	case err != nil:
		return []Check{setupCheck(framework, "script", err.Error())}
	case len(checks) == 0:
		return []Check{setupCheck(framework, "script", fmt.Sprintf("wrote no checks in %s", filepath.Join(dir, ChecksFile)))}
	}
	if exitCode != 0 {
		checks = append(checks, setupCheck(framework, "script", fmt.Sprintf("exited with status %d", exitCode)))
	}
	return checks
}

// Verdict decides gpu:check. With a GPU present every failed check is a
// failure: the GPU is there and a framework cannot use it. Without one the
// checks ran on CPU, where CUDA checks cannot pass, so only setup failures
// count. The error is a *CheckError.
func Verdict(checks []Check, gpuPresent bool) error {
	var failed []Check
	for _, c := range checks {
		if !c.OK && (gpuPresent || c.Setup) {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &CheckError{Failed: failed, Total: len(checks), GPU: gpuPresent}
}

// CheckError is a failed gpu:check; Mage exits with ExitStatus.
type CheckError struct {
	Failed []Check
	Total  int
	GPU    bool // a GPU was present
}

func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gpu:check: %d of %d checks failed", len(e.Failed), e.Total)
	if e.GPU {
		b.WriteString(" with a GPU present")
	}
	for _, c := range e.Failed {
		fmt.Fprintf(&b, "\n    %s %s: %s", c.Framework, c.Name, firstLine([]byte(c.Detail)))
	}
	return b.String()
}

// ExitStatus is the status Mage exits with.
func (e *CheckError) ExitStatus() int { return 1 }
