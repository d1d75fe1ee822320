package stamp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
)

// EnvVars is the allow-list of environment variables a run records: those
// that change what a run computes or say where it ran (GPU selection,
// determinism, thread caps, scheduler and CI job ids). Nothing else is ever
// read, and a name that looks like a credential is dropped even if it is
// added here.
var EnvVars = []string{
	// GPU selection and memory
	"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES",
	"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "PYTORCH_CUDA_ALLOC_CONF",
	// determinism
	"CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING", "PYTHONHASHSEED",
	"TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS",
	// thread caps
	"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
	"VECLIB_MAXIMUM_THREADS",
	// hub downloads switched off
	"HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE",
	// schedulers and CI
	"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_PARTITION",
	"SLURM_CLUSTER_NAME", "SLURMD_NODENAME", "SLURM_RESTART_COUNT", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_SHA",
	"GITHUB_REF_NAME", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB", "CI",
	// magelab
	"MAGELAB_PYTHON",
}

// EnvOptions are StampEnv's inputs.
type EnvOptions struct {
	Python   string                      // the venv's interpreter (path)
	VenvDir  string                      // its venv; "" means two levels above Python
	ReqHash  string                      // the requirements hash the venv was built from
	CacheDir string                      // where the package-list cache lives (.magelab/freeze/); "" means no cache
	Lookup   func(string) (string, bool) // environment lookup: os.LookupEnv when nil
}

const (
	freezeName    = "pip-freeze.txt" // in the run dir
	pythonTimeout = 2 * time.Minute  // for the python call
	modulePath    = "github.com/magelab/magelab"
)

// freezeMu serialises package listing in this process, so that the
// trials of a sweep starting together make one python call, not one each.
var freezeMu sync.Mutex

// Env fills Env and writes runDir/pip-freeze.txt.
//
// The package list is computed by the venv's python with importlib.metadata
// (it works in uv-made venvs that have no pip) as `name==version` lines
// sorted case-insensitively, like `pip freeze --all`. It is cached in
// CacheDir under the venv's state: the venv's marker file, the interpreter
// file and the mtime and listing of every site-packages directory on the
// interpreter's path (a --system-site-packages base's included). Same state,
// no python process: later runs copy the cached list and Python version.
// Every problem is a warning; the host part is always filled.
func Env(ctx context.Context, runDir string, opts EnvOptions) (record.Env, []string) {
	env := HostInfo()
	env.Python, env.RequirementsHash = opts.Python, opts.ReqHash
	lookup := opts.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env.Vars = varsFrom(EnvVars, lookup)

	fr, warnings, err := listPackages(ctx, opts)
	if err != nil {
		return env, append(warnings, "env: package list not recorded: "+err.Error())
	}
	env.PythonVersion = fr.Version
	if err := os.WriteFile(filepath.Join(runDir, freezeName), []byte(fr.Freeze), 0o644); err != nil {
		return env, append(warnings, fmt.Sprintf("env: write %s: %v", freezeName, err))
	}
	env.PipFreeze = freezeName
	return env, warnings
}

// varsFrom returns the variables of names that are set, leaving out any
// whose name looks like a credential.
func varsFrom(names []string, lookup func(string) (string, bool)) map[string]string {
	var vars map[string]string
	for _, n := range names {
		if secretLike(n) {
			continue
		}
		if v, ok := lookup(n); ok { // set but empty is recorded: CUDA_VISIBLE_DEVICES="" hides every GPU
			if vars == nil {
				vars = map[string]string{}
			}
			vars[n] = v
		}
	}
	return vars
}

func secretLike(name string) bool {
	n := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "SECRET", "PASSW", "CREDENTIAL", "KEY", "AUTH", "PRIVATE", "COOKIE"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// packageList is a computed package list: what the cache file holds.
type packageList struct {
	Python   string   `json:"python"`    // the interpreter it was computed with
	Key      string   `json:"key"`       // the venv state it belongs to (envStateKey)
	Version  string   `json:"version"`   // Python version
	SiteDirs []string `json:"site_dirs"` // the directories whose state is in Key
	Freeze   string   `json:"freeze"`    // pip-freeze.txt
}

// listPackages returns the package list of opts.Python, from the cache when the
// venv's state is unchanged.
func listPackages(ctx context.Context, opts EnvOptions) (packageList, []string, error) {
	if opts.Python == "" {
		return packageList{}, nil, errors.New("no python interpreter given")
	}
	python, err := exec.LookPath(opts.Python)
	if err != nil {
		return packageList{}, nil, fmt.Errorf("python %s: %w (run `go tool mage setup`, or point MAGELAB_PYTHON at an interpreter)", opts.Python, err)
	}
	if abs, err := filepath.Abs(python); err == nil {
		python = abs
	}
	marker := readMarker(opts.VenvDir, python)
	cache := cachePath(opts.CacheDir, python)

	freezeMu.Lock()
	defer freezeMu.Unlock()
	if fr, ok := readCache(cache, python, marker); ok {
		return fr, nil, nil
	}
	scan, err := runPython(ctx, python)
	if err != nil {
		return packageList{}, nil, err
	}
	var warnings []string
	if len(scan.Broken) > 0 {
		warnings = append(warnings, fmt.Sprintf("env: %d installed distributions without a name or version left out of %s: %s",
			len(scan.Broken), freezeName, strings.Join(scan.Broken, ", ")))
	}
	fr := packageList{Python: python, Version: scan.Version, Freeze: freezeText(scan.Packages)}
	for _, d := range scan.SiteDirs {
		fr.SiteDirs = append(fr.SiteDirs, d.Path)
	}
	fr.Key = venvStateKey(marker, python, fr.SiteDirs)
	if cache != "" && scan.stable() {
		if err := writeCache(cache, fr); err != nil {
			warnings = append(warnings, "env: package list not cached: "+err.Error())
		}
	}
	return fr, warnings, nil
}

func freezeText(pkgs []string) string {
	if len(pkgs) == 0 {
		return ""
	}
	return strings.Join(pkgs, "\n") + "\n"
}

// readMarker returns the content of the venv's marker file, nil when it
// has none (an interpreter magelab did not install into).
func readMarker(venvDir, python string) []byte {
	if venvDir == "" {
		venvDir = filepath.Dir(filepath.Dir(python))
	}
	b, _ := os.ReadFile(filepath.Join(venvDir, venv.MarkerName))
	return b
}

// cachePath is the cache file of one interpreter: one entry per venv,
// rewritten when its state changes, so the cache does not grow.
func cachePath(dir, python string) string {
	if dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(python))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")
}

func readCache(path, python string, marker []byte) (packageList, bool) {
	if path == "" {
		return packageList{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return packageList{}, false
	}
	var fr packageList
	if json.Unmarshal(b, &fr) != nil || fr.Python != python || fr.Version == "" {
		return packageList{}, false
	}
	return fr, fr.Key == venvStateKey(marker, python, fr.SiteDirs)
}

func writeCache(path string, fr packageList) error {
	b, err := json.MarshalIndent(fr, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(b, '\n'))
}

// venvStateKey hashes what a package list depends on: the marker, the
// interpreter file (a rebuilt or upgraded base python) and, for each
// site-packages directory, its mtime and its entry names. Installing,
// upgrading or removing a distribution adds or renames a *.dist-info entry;
// the names catch it even where mtimes are coarse. No process is run.
func venvStateKey(marker []byte, python string, siteDirs []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "marker %d\n", len(marker))
	h.Write(marker)
	if fi, err := os.Stat(python); err == nil {
		fmt.Fprintf(h, "\npython %s %d %d\n", python, fi.Size(), fi.ModTime().UnixNano())
	}
	for _, d := range siteDirs {
		fi, err := os.Stat(d)
		if err != nil {
			fmt.Fprintf(h, "dir %s missing\n", d)
			continue
		}
		fmt.Fprintf(h, "dir %s %d\n", d, fi.ModTime().UnixNano())
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			fmt.Fprintf(h, "\t%s\n", e.Name())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pythonScan is what envScript prints.
type pythonScan struct {
	Version  string `json:"version"`
	SiteDirs []struct {
		Path    string `json:"path"`
		MtimeNS int64  `json:"mtime_ns"`
	} `json:"site_dirs"`
	Packages []string `json:"packages"`
	Broken   []string `json:"broken"`
}

// stable reports whether no site-packages directory changed since python
// read its mtime before listing: a list taken during an install is used
// for this run but not cached.
func (s pythonScan) stable() bool {
	for _, d := range s.SiteDirs {
		fi, err := os.Stat(d.Path)
		if err != nil || fi.ModTime().UnixNano() != d.MtimeNS {
			return false
		}
	}
	return true
}

// scanPrefix marks the result line, so that a sitecustomize that prints
// does not break parsing.
const scanPrefix = "MAGELAB-ENV "

// packagesScript lists the installed distributions the way pip freeze --all
// does: the first of a name on sys.path wins, sorted by lower-cased name.
// It runs under -I, so PYTHONPATH and the user site do not leak in.
const packagesScript = `import json, os, platform, re, sys
dirs, seen = [], set()
for p in sys.path:
    p = os.path.abspath(p) if p else ""
    if os.path.basename(p) in ("site-packages", "dist-packages") and p not in seen and os.path.isdir(p):
        seen.add(p)
        dirs.append({"path": p, "mtime_ns": os.stat(p).st_mtime_ns})
try:
    from importlib import metadata
except ImportError:
    sys.exit("importlib.metadata needs Python 3.8 or later")
pkgs, seen, broken = [], set(), []
for d in metadata.distributions():
    try:
        name, version = d.metadata["Name"], d.version
    except Exception:
        name = version = None
    if not name or not version:
        broken.append(str(getattr(d, "_path", d)))
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key not in seen:
        seen.add(key)
        pkgs.append((name, version))
pkgs.sort(key=lambda p: p[0].lower())
sys.stdout.write("\n` + scanPrefix + `" + json.dumps({"version": platform.python_version(), "site_dirs": dirs,
    "packages": ["%s==%s" % p for p in pkgs], "broken": broken}) + "\n")
`

func runPython(ctx context.Context, python string) (pythonScan, error) {
	ctx, cancel := context.WithTimeout(ctx, pythonTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-I", "-c", packagesScript)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return pythonScan{}, fmt.Errorf("%s -I -c <list packages>: %w%s", python, err, lastLine(stderr.String()))
	}
	var scan pythonScan
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, scanPrefix); ok {
			if err := json.Unmarshal([]byte(rest), &scan); err != nil {
				return pythonScan{}, fmt.Errorf("%s: unreadable package list: %w", python, err)
			}
			return scan, nil
		}
	}
	return pythonScan{}, fmt.Errorf("%s printed no package list%s", python, lastLine(stderr.String()))
}

// lastLine is the last line of a process's stderr, for an error message.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return ": " + last
	}
	return ""
}
