package targets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/runner"
)

// Gpu holds gpu:check.
type Gpu mg.Namespace

// The inventory is `gpu`, not `gpu:list`: as with RUNS, Go cannot name a
// function Gpu beside the namespace type, so it is GPU.

// GPU lists the NVIDIA GPUs (index, name, memory, utilisation, driver, CUDA) and what PyTorch and TensorFlow in the venv see; -exp=NAME picks the venv's requirements.
func GPU(ctx context.Context, exp *string) error {
	inv, qerr := gpu.Query(ctx)
	if err := gpu.WriteInventory(os.Stdout, inv, qerr); err != nil {
		return err
	}
	if s := runner.SettingsFromEnv(); s.CUDAVisibleSet && qerr == nil {
		fmt.Printf("CUDA_VISIBLE_DEVICES=%q: runs see GPU %s\n", s.CUDAVisible, indices(gpu.Visible(inv, s.CUDAVisible, true)))
	}
	fmt.Println()
	p, e, err := load(exp, nil)
	if err != nil {
		return err
	}
	fw, _, err := p.Frameworks(ctx, e)
	if err != nil {
		return exit(err)
	}
	return gpu.WriteFrameworks(os.Stdout, fw)
}

// Check runs the PyTorch GPU checks (and TensorFlow's when it imports) in the venv, prints a pass/fail table and fails when a GPU is present but a framework cannot use it: -exp=NAME (default gpu-check), -set="train.steps=100".
func (Gpu) Check(ctx context.Context, exp, set *string) error {
	p, e, err := loadGPUCheck(exp, set)
	if err != nil {
		return err
	}
	inv, qerr := gpu.Query(ctx)
	if err := gpu.WriteInventory(os.Stdout, inv, qerr); err != nil {
		return err
	}
	present := len(gpu.Visible(inv, p.Settings.CUDAVisible, p.Settings.CUDAVisibleSet)) > 0
	checks, err := p.GPUCheck(ctx, e)
	if err != nil {
		return exit(err)
	}
	fmt.Println()
	if err := gpu.WriteChecks(os.Stdout, checks, present); err != nil {
		return err
	}
	return exit(gpu.Verdict(checks, present))
}

// loadGPUCheck loads -exp, else experiments/gpu-check.yaml. A repository
// without that file (one that adopted magelab) runs the checks with their
// built-in settings (gpu.CheckConfig's defaults) on the venv of its default
// experiment, whose requirements hold its torch.
func loadGPUCheck(exp, set *string) (*runner.Project, *config.Experiment, error) {
	name := deref(exp)
	if name != "" {
		return load(&name, set)
	}
	name = "gpu-check"
	if _, err := os.Stat(filepath.Join("experiments", name+".yaml")); err == nil {
		return load(&name, set)
	}
	if deref(set) != "" {
		return nil, nil, fmt.Errorf("-set: this repository has no experiments/gpu-check.yaml, whose train: params -set would change: copy it from magelab's repository, or pass -exp")
	}
	def := "default"
	p, e, err := load(&def, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("gpu:check: no experiments/gpu-check.yaml here, and the default experiment (whose venv the checks would use) does not load: %w", err)
	}
	fmt.Printf("gpu:check: no experiments/gpu-check.yaml in this repository: the checks run with their built-in settings in the venv of %s\n", e.Name)
	checks := *e
	checks.Name, checks.Params = "gpu-check", config.Params{"seed": e.Seed, "train": map[string]any{}}
	return p, &checks, nil
}

// indices lists the devices' indices, "none" for none.
func indices(devices []gpu.Device) string {
	if len(devices) == 0 {
		return "none"
	}
	s := make([]string, len(devices))
	for i, d := range devices {
		s[i] = strconv.Itoa(d.Index)
	}
	return strings.Join(s, ", ")
}
