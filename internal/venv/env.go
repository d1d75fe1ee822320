package venv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ChildEnv is base as a process of the venv's python gets it: the venv's
// bin first on PATH, pythonPath (when not "") first on PYTHONPATH,
// CUDA_DEVICE_ORDER=PCI_BUS_ID unless base sets it (so that CUDA numbers
// GPUs as nvidia-smi does), and nothing of an outer magelab run
// (MAGELAB_RUN_*, MAGELAB_STAGE) or of PYTHONHOME. Then come defaults, for
// the names base lacks, and set, over everything: VIRTUAL_ENV and
// PYTHONUNBUFFERED always, and set's names with a value ("" leaves a name
// out). Stages, the GPU checks and the server of `serve` start in it.
func ChildEnv(python string, base []string, pythonPath string, defaults, set map[string]string) []string {
	dir := filepath.Dir(filepath.Dir(python))
	defs := map[string]string{"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
	for k, v := range defaults {
		defs[k] = v
	}
	forced := map[string]string{"VIRTUAL_ENV": dir, "PYTHONUNBUFFERED": "1"}
	for k, v := range set {
		forced[k] = v
	}
	env := make([]string, 0, len(base)+len(defs)+len(forced)+2)
	path, hasPath, pyPath := "", false, ""
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		_, isForced := forced[k]
		switch {
		case k == "PATH":
			path, hasPath = v, true
		case k == "PYTHONPATH" && pythonPath != "":
			pyPath = v
		case k == "PYTHONHOME", k == "MAGELAB_STAGE", strings.HasPrefix(k, "MAGELAB_RUN_"), isForced:
		default:
			delete(defs, k)
			env = append(env, kv)
		}
	}
	bin := filepath.Join(dir, "bin")
	if hasPath {
		bin += string(os.PathListSeparator) + path
	}
	env = append(env, "PATH="+bin)
	if pythonPath != "" {
		if pyPath != "" {
			pythonPath += string(os.PathListSeparator) + pyPath
		}
		env = append(env, "PYTHONPATH="+pythonPath)
	}
	for _, m := range []map[string]string{defs, forced} {
		for _, k := range sortedKeys(m) {
			if m[k] != "" {
				env = append(env, k+"="+m[k])
			}
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
