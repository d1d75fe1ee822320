package stamp

import (
	"bufio"
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
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
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
	"SLURM_CLUSTER_NAME", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_SHA",
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
	envFreezeName = "pip-freeze.txt" // in the run dir
	envTimeout    = 2 * time.Minute  // for the python call
	envModule     = "github.com/magelab/magelab"
)

// envFreezeMu serialises package listing in this process, so that the
// trials of a sweep starting together make one python call, not one each.
var envFreezeMu sync.Mutex

// StampEnv fills Env and writes runDir/pip-freeze.txt.
//
// The package list is computed by the venv's python with importlib.metadata
// (it works in uv-made venvs that have no pip) as `name==version` lines
// sorted case-insensitively, like `pip freeze --all`. It is cached in
// CacheDir under the venv's state: the venv's marker file, the interpreter
// file and the mtime and listing of every site-packages directory on the
// interpreter's path (a --system-site-packages base's included). Same state,
// no python process: later runs copy the cached list and Python version.
// Every problem is a warning; the host part is always filled.
func StampEnv(ctx context.Context, runDir string, opts EnvOptions) (record.Env, []string) {
	env := HostInfo()
	env.Python, env.RequirementsHash = opts.Python, opts.ReqHash
	lookup := opts.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env.Vars = envVarsFrom(EnvVars, lookup)

	fr, warnings, err := envFreeze(ctx, opts)
	if err != nil {
		return env, append(warnings, "env: package list not recorded: "+err.Error())
	}
	env.PythonVersion = fr.Version
	if err := os.WriteFile(filepath.Join(runDir, envFreezeName), []byte(fr.Freeze), 0o644); err != nil {
		return env, append(warnings, fmt.Sprintf("env: write %s: %v", envFreezeName, err))
	}
	env.PipFreeze = envFreezeName
	return env, warnings
}

// envVarsFrom returns the variables of names that are set, leaving out any
// whose name looks like a credential.
func envVarsFrom(names []string, lookup func(string) (string, bool)) map[string]string {
	var vars map[string]string
	for _, n := range names {
		if envSecretLike(n) {
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

func envSecretLike(name string) bool {
	n := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "SECRET", "PASSW", "CREDENTIAL", "KEY", "AUTH", "PRIVATE", "COOKIE"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// envFrozen is a computed package list: what the cache file holds.
type envFrozen struct {
	Python   string   `json:"python"`    // the interpreter it was computed with
	Key      string   `json:"key"`       // the venv state it belongs to (envStateKey)
	Version  string   `json:"version"`   // Python version
	SiteDirs []string `json:"site_dirs"` // the directories whose state is in Key
	Freeze   string   `json:"freeze"`    // pip-freeze.txt
}

// envFreeze returns the package list of opts.Python, from the cache when the
// venv's state is unchanged.
func envFreeze(ctx context.Context, opts EnvOptions) (envFrozen, []string, error) {
	if opts.Python == "" {
		return envFrozen{}, nil, errors.New("no python interpreter given")
	}
	python, err := exec.LookPath(opts.Python)
	if err != nil {
		return envFrozen{}, nil, fmt.Errorf("python %s: %w (run `go tool mage setup`, or point MAGELAB_PYTHON at an interpreter)", opts.Python, err)
	}
	if abs, err := filepath.Abs(python); err == nil {
		python = abs
	}
	marker := envReadMarker(opts.VenvDir, python)
	cache := envCachePath(opts.CacheDir, python)

	envFreezeMu.Lock()
	defer envFreezeMu.Unlock()
	if fr, ok := envReadCache(cache, python, marker); ok {
		return fr, nil, nil
	}
	scan, err := envRunPython(ctx, python)
	if err != nil {
		return envFrozen{}, nil, err
	}
	var warnings []string
	if len(scan.Broken) > 0 {
		warnings = append(warnings, fmt.Sprintf("env: %d installed distributions without a name or version left out of %s: %s",
			len(scan.Broken), envFreezeName, strings.Join(scan.Broken, ", ")))
	}
	fr := envFrozen{Python: python, Version: scan.Version, Freeze: envFreezeText(scan.Packages)}
	for _, d := range scan.SiteDirs {
		fr.SiteDirs = append(fr.SiteDirs, d.Path)
	}
	fr.Key = envStateKey(marker, python, fr.SiteDirs)
	if cache != "" && scan.stable() {
		if err := envWriteCache(cache, fr); err != nil {
			warnings = append(warnings, "env: package list not cached: "+err.Error())
		}
	}
	return fr, warnings, nil
}

func envFreezeText(pkgs []string) string {
	if len(pkgs) == 0 {
		return ""
	}
	return strings.Join(pkgs, "\n") + "\n"
}

// envReadMarker returns the content of the venv's marker file, nil when it
// has none (an interpreter magelab did not install into).
func envReadMarker(venvDir, python string) []byte {
	if venvDir == "" {
		venvDir = filepath.Dir(filepath.Dir(python))
	}
	b, _ := os.ReadFile(filepath.Join(venvDir, venv.MarkerName))
	return b
}

// envCachePath is the cache file of one interpreter: one entry per venv,
// rewritten when its state changes, so the cache does not grow.
func envCachePath(dir, python string) string {
	if dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(python))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")
}

func envReadCache(path, python string, marker []byte) (envFrozen, bool) {
	if path == "" {
		return envFrozen{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return envFrozen{}, false
	}
	var fr envFrozen
	if json.Unmarshal(b, &fr) != nil || fr.Python != python || fr.Version == "" {
		return envFrozen{}, false
	}
	return fr, fr.Key == envStateKey(marker, python, fr.SiteDirs)
}

func envWriteCache(path string, fr envFrozen) error {
	b, err := json.MarshalIndent(fr, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFileAtomic(path, append(b, '\n'))
}

// envStateKey hashes what a package list depends on: the marker, the
// interpreter file (a rebuilt or upgraded base python) and, for each
// site-packages directory, its mtime and its entry names. Installing,
// upgrading or removing a distribution adds or renames a *.dist-info entry;
// the names catch it even where mtimes are coarse. No process is run.
func envStateKey(marker []byte, python string, siteDirs []string) string {
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

// envScan is what envScript prints.
type envScan struct {
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
func (s envScan) stable() bool {
	for _, d := range s.SiteDirs {
		fi, err := os.Stat(d.Path)
		if err != nil || fi.ModTime().UnixNano() != d.MtimeNS {
			return false
		}
	}
	return true
}

// envScanPrefix marks the result line, so that a sitecustomize that prints
// does not break parsing.
const envScanPrefix = "MAGELAB-ENV "

// envScript lists the installed distributions the way pip freeze --all
// does: the first of a name on sys.path wins, sorted by lower-cased name.
// It runs under -I, so PYTHONPATH and the user site do not leak in.
const envScript = `import json, os, platform, re, sys
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
sys.stdout.write("\n` + envScanPrefix + `" + json.dumps({"version": platform.python_version(), "site_dirs": dirs,
    "packages": ["%s==%s" % p for p in pkgs], "broken": broken}) + "\n")
`

func envRunPython(ctx context.Context, python string) (envScan, error) {
	ctx, cancel := context.WithTimeout(ctx, envTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-I", "-c", envScript)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return envScan{}, fmt.Errorf("%s -I -c <list packages>: %w%s", python, err, envTail(stderr.String()))
	}
	var scan envScan
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, envScanPrefix); ok {
			if err := json.Unmarshal([]byte(rest), &scan); err != nil {
				return envScan{}, fmt.Errorf("%s: unreadable package list: %w", python, err)
			}
			return scan, nil
		}
	}
	return envScan{}, fmt.Errorf("%s printed no package list%s", python, envTail(stderr.String()))
}

// envTail is the last line of a process's stderr, for an error message.
func envTail(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return ": " + last
	}
	return ""
}

// HostInfo is the machine part of Env: OS pretty name (/etc/os-release),
// kernel release (as `uname -r`), CPU model (/proc/cpuinfo), the logical
// CPUs this process may use, total RAM (/proc/meminfo, the machine's, not a
// container limit), hostname and magelab's version from the build info.
// It reads files only: no processes.
func HostInfo() record.Env {
	e := record.Env{OS: envOSName(), Cores: runtime.NumCPU(), Hostname: proc.Hostname()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		e.CPU = envCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		e.RAMBytes = envMemTotal(b)
	}
	bi, ok := debug.ReadBuildInfo()
	e.Magelab = envMagelabVersion(bi, ok)
	return e
}

func envOSName() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := os.ReadFile(p); err == nil {
			if name := envOSRelease(b); name != "" {
				return name
			}
		}
	}
	return runtime.GOOS
}

// envOSRelease returns PRETTY_NAME of an os-release file, else NAME VERSION.
func envOSRelease(b []byte) string {
	kv := envKeyValues(b, "=")
	for k, v := range kv {
		if u, err := strconv.Unquote(v); err == nil {
			kv[k] = u
		} else {
			kv[k] = strings.Trim(v, `'"`)
		}
	}
	if kv["PRETTY_NAME"] != "" {
		return kv["PRETTY_NAME"]
	}
	return strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
}

// envCPUModel returns the CPU model of a /proc/cpuinfo: "model name" on x86,
// else the board or the ARM core named from its implementer and part ids.
func envCPUModel(b []byte) string {
	kv := envKeyValues(b, ":")
	for _, k := range []string{"model name", "Model", "Hardware", "cpu model", "cpu"} {
		if kv[k] != "" {
			return kv[k]
		}
	}
	impl, part := kv["CPU implementer"], kv["CPU part"]
	if impl == "" {
		return ""
	}
	if name, ok := envARMCores[impl+"/"+part]; ok {
		return name
	}
	return fmt.Sprintf("ARM implementer %s part %s", impl, part)
}

// envARMCores names the server ARM cores GPU machines have.
var envARMCores = map[string]string{
	"0x41/0xd0c": "ARM Neoverse-N1", "0x41/0xd40": "ARM Neoverse-V1",
	"0x41/0xd49": "ARM Neoverse-N2", "0x41/0xd4f": "ARM Neoverse-V2",
	"0x41/0xd8e": "ARM Neoverse-N3", "0x41/0xd84": "ARM Neoverse-V3",
	"0xc0/0xac3": "Ampere-1", "0xc0/0xac4": "Ampere-1a",
}

// envMemTotal returns MemTotal of a /proc/meminfo in bytes.
func envMemTotal(b []byte) uint64 {
	f := strings.Fields(envKeyValues(b, ":")["MemTotal"])
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// envKeyValues reads "key<sep>value" lines; the first of a key wins (cpuinfo
// repeats its block per CPU).
func envKeyValues(b []byte, sep string) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		k = strings.TrimSpace(k)
		if _, seen := kv[k]; ok && !seen {
			kv[k] = strings.TrimSpace(v)
		}
	}
	return kv
}

// envMagelabVersion is magelab's module version, or the commit it was built
// from (+dirty) when built from a checkout, or "devel" (go test, go run).
func envMagelabVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "devel"
	}
	if bi.Main.Path != envModule {
		for _, d := range bi.Deps {
			if d.Path == envModule {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return envOr(d.Version, "devel")
			}
		}
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}

func envOr(s, def string) string {
	if s == "" || s == "(devel)" {
		return def
	}
	return s
}
