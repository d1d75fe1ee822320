package gpu

import "github.com/magelab/magelab/internal/venv"

// CheckCommand builds the stage-contract command of a check script,
// `PYTHON SCRIPT --params PARAMS --out OUT`, and its environment: base as a
// child of the venv's python gets it (venv.ChildEnv), pythonPath (the
// project's python/, where the script imports lab.py from) first on
// PYTHONPATH, and TensorFlow's C++ logs at warnings unless base says
// otherwise. It reads nothing.
func CheckCommand(python, script, params, out, pythonPath string, base []string) (path string, args, env []string) {
	return python, []string{script, "--params", params, "--out", out}, childEnv(python, base, pythonPath, map[string]string{"MAGELAB_STAGE": "gpu-check"})
}

// childEnv is venv.ChildEnv with TensorFlow's C++ logs at warnings by
// default.
func childEnv(python string, base []string, pythonPath string, extra map[string]string) []string {
	return venv.ChildEnv(python, base, pythonPath, map[string]string{"TF_CPP_MIN_LOG_LEVEL": "2"}, extra)
}
