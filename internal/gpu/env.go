package gpu

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckCommand builds the stage-contract command of a check script,
// `PYTHON SCRIPT --params PARAMS --out OUT`, and its environment: base with
// the venv first on PATH, and CUDA_DEVICE_ORDER=PCI_BUS_ID unless base sets
// it, so that CUDA numbers GPUs as nvidia-smi does. It reads nothing.
func CheckCommand(python, script, params, out string, base []string) (path string, args, env []string) {
	return python, []string{script, "--params", params, "--out", out}, childEnv(python, base, map[string]string{"MAGELAB_STAGE": "gpu-check"})
}

// childEnv is base for a child of the venv python runs in: VIRTUAL_ENV and
// its bin first on PATH, unbuffered output, CUDA's device order as
// nvidia-smi's and TensorFlow's C++ logs at warnings (unless base says
// otherwise), nothing of an outer run (MAGELAB_RUN_*, MAGELAB_STAGE) or
// PYTHONHOME, and the extra variables.
func childEnv(python string, base []string, extra map[string]string) []string {
	venv := filepath.Dir(filepath.Dir(python))
	defaults := map[string]string{"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "TF_CPP_MIN_LOG_LEVEL": "2"}
	forced := map[string]string{"VIRTUAL_ENV": venv, "PYTHONUNBUFFERED": "1"}
	for k, v := range extra {
		forced[k] = v
	}
	bin := filepath.Join(venv, "bin")
	env := make([]string, 0, len(base)+len(defaults)+len(forced)+1)
	path, hasPath := "", false
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH":
			path, hasPath = v, true
		case k == "PYTHONHOME", k == "MAGELAB_STAGE", strings.HasPrefix(k, "MAGELAB_RUN_"):
		case forced[k] != "":
		default:
			delete(defaults, k)
			env = append(env, kv)
		}
	}
	if hasPath {
		bin += string(os.PathListSeparator) + path
	}
	env = append(env, "PATH="+bin)
	for _, m := range []map[string]string{defaults, forced} {
		for _, k := range sortedKeys(m) {
			env = append(env, k+"="+m[k])
		}
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
