package stamp

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostInfo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("host files are read from /proc and /etc on Linux")
	}
	e := HostInfo()
	host, _ := os.Hostname()
	uname, err := exec.Command("uname", "-r").Output()
	require.NoError(t, err, "uname -r")
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"OSSet", e.OS != "" && e.OS != runtime.GOOS},
		{"KernelMatchesUname", e.Kernel == strings.TrimSpace(string(uname))},
		{"CPUSet", e.CPU != ""},
		{"CoresAtLeastOne", e.Cores >= 1},
		{"RAMAbove64MiB", e.RAMBytes > 64<<20},
		{"RAMMatchesGetconf", envRAMMatchesGetconf(t, e.RAMBytes)},
		{"HostnameSet", e.Hostname != "" && e.Hostname == host},
		{"MagelabVersionSet", e.Magelab != ""},
		{"NoPythonPart", e.Python == "" && e.PipFreeze == "" && e.Vars == nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.True(t, tc.ok, "HostInfo() = %+v", e)
		})
	}
}

// envRAMMatchesGetconf compares with physical pages × page size, from
// sysinfo(2) through getconf: another way to the same number.
func envRAMMatchesGetconf(tb testing.TB, ram uint64) bool {
	tb.Helper()
	get := func(name string) uint64 {
		out, err := exec.Command("getconf", name).Output()
		if err != nil {
			tb.Skipf("getconf %s: %v", name, err)
		}
		v, _ := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
		return v
	}
	want := get("_PHYS_PAGES") * get("PAGESIZE")
	diff := int64(ram) - int64(want)
	return diff < int64(want/100) && -diff < int64(want/100)
}

func TestEnvOSRelease(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"PrettyName", "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n", "Ubuntu 22.04.4 LTS"},
		{"SingleQuoted", "PRETTY_NAME='Rocky Linux 9.3 (Blue Onyx)'\n", "Rocky Linux 9.3 (Blue Onyx)"},
		{"Unquoted", "PRETTY_NAME=Alpine\n", "Alpine"},
		{"NoPrettyName", "NAME=Fedora\nVERSION=\"39 (Container Image)\"\n", "Fedora 39 (Container Image)"},
		{"Empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, osRelease([]byte(tc.file)))
		})
	}
}

func TestEnvCPUModel(t *testing.T) {
	for _, tc := range []struct{ name, cpuinfo, want string }{
		{"X86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n\nprocessor\t: 1\nmodel name\t: other\n", "Intel(R) Xeon(R) Platinum 8480+"},
		{"GraceNamedFromPart", "processor\t: 0\nBogoMIPS\t: 2000.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd4f\n", "ARM Neoverse-V2"},
		{"UnknownARMCoreGivesIds", "CPU implementer\t: 0x48\nCPU part\t: 0xd01\n", "ARM implementer 0x48 part 0xd01"},
		{"RaspberryPiModel", "CPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"Empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cpuModel([]byte(tc.cpuinfo)))
		})
	}
}

func TestEnvMemTotal(t *testing.T) {
	for _, tc := range []struct {
		name, meminfo string
		want          uint64
	}{
		{"KiBToBytes", "MemTotal:       32768000 kB\nMemFree:         1000 kB\n", 32768000 * 1024},
		{"Missing", "MemFree: 1000 kB\n", 0},
		{"NotANumber", "MemTotal: lots kB\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, memTotal([]byte(tc.meminfo)))
		})
	}
}

func TestEnvMagelabVersion(t *testing.T) {
	main := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"ModuleVersion", main("v1.2.3"), true, "v1.2.3"},
		{"CheckoutClean", main("(devel)", "vcs.revision", "abc123", "vcs.modified", "false"), true, "abc123"},
		{"CheckoutDirty", main("(devel)", "vcs.revision", "abc123", "vcs.modified", "true"), true, "abc123+dirty"},
		{"DevelWithoutVCS", main("(devel)"), true, "devel"},
		{"Dependency", &debug.BuildInfo{Main: debug.Module{Path: "example.com/lab"}, Deps: []*debug.Module{{Path: modulePath, Version: "v0.4.0"}}}, true, "v0.4.0"},
		{"DependencyIgnoresUserVCS", &debug.BuildInfo{Main: debug.Module{Path: "example.com/lab"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fff"}}}, true, "devel"},
		{"NoBuildInfo", nil, false, "devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, magelabVersion(tc.bi, tc.ok))
		})
	}
}

func TestEnvVars(t *testing.T) {
	set := map[string]string{
		"CUDA_VISIBLE_DEVICES": "0,1", "CUBLAS_WORKSPACE_CONFIG": "", "OMP_NUM_THREADS": "4",
		"GITHUB_TOKEN": "ghp_x", "AWS_SECRET_ACCESS_KEY": "aws_x", "HF_TOKEN": "hf_x", "WANDB_API_KEY": "w_x",
		"HOME": "/root", "PATH": "/usr/bin", "LD_LIBRARY_PATH": "/usr/lib",
	}
	lookup := func(k string) (string, bool) { v, ok := set[k]; return v, ok }
	env, _ := Env(context.Background(), t.TempDir(), EnvOptions{Lookup: lookup})
	secrets := []string{"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "WANDB_API_KEY"}
	widened := varsFrom(append(slices.Clone(EnvVars), secrets...), lookup)

	for _, tc := range []struct {
		name string
		vars map[string]string
		key  string
		want string
		has  bool
	}{
		{"RecordsCUDAVisibleDevices", env.Vars, "CUDA_VISIBLE_DEVICES", "0,1", true},
		{"RecordsThreadCap", env.Vars, "OMP_NUM_THREADS", "4", true},
		{"RecordsSetButEmpty", env.Vars, "CUBLAS_WORKSPACE_CONFIG", "", true},
		{"OmitsUnset", env.Vars, "PYTHONHASHSEED", "", false},
		{"NeverHOME", env.Vars, "HOME", "", false},
		{"NeverPATH", env.Vars, "PATH", "", false},
		{"NeverLDLibraryPath", env.Vars, "LD_LIBRARY_PATH", "", false},
		{"NeverGitHubToken", env.Vars, "GITHUB_TOKEN", "", false},
		{"NeverAWSSecret", env.Vars, "AWS_SECRET_ACCESS_KEY", "", false},
		{"NeverHFToken", env.Vars, "HF_TOKEN", "", false},
		{"SecretAddedToListStillDropped", widened, "HF_TOKEN", "", false},
		{"KeyAddedToListStillDropped", widened, "WANDB_API_KEY", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := tc.vars[tc.key]
			assert.Equal(t, tc.has, ok, "%s recorded; vars %v", tc.key, tc.vars)
			assert.Equal(t, tc.want, v, "%s; vars %v", tc.key, tc.vars)
		})
	}
	t.Run("AllowListHasNoCredentialLikeName", func(t *testing.T) {
		for _, n := range EnvVars {
			assert.False(t, secretLike(n), "%s is allow-listed but looks like a credential, so it would never be recorded", n)
		}
	})
}

// envMustScript writes an executable shell script and returns its path.
func envMustScript(tb testing.TB, path, body string) string {
	tb.Helper()
	require.NoError(tb, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return path
}

// envCalls is how many times a counting script has run.
func envCalls(tb testing.TB, countFile string) int {
	tb.Helper()
	b, err := os.ReadFile(countFile)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(tb, err)
	return strings.Count(string(b), "\n")
}

func TestStampEnvProblems(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake interpreters are shell scripts")
	}
	bin := t.TempDir()
	for _, tc := range []struct {
		name    string
		python  string // script body, or a path when it starts with "/"
		runDir  string // "" means a fresh directory
		timeout time.Duration
		warn    string
	}{
		{"NoPython", "", "", 0, "no python interpreter given"},
		{"PythonNotFound", "/nonexistent/venv/bin/python", "", 0, "/nonexistent/venv/bin/python"},
		{"PythonExitsNonZero", "echo 'ModuleNotFoundError: boom' >&2; exit 3", "", 0, "exit status 3: ModuleNotFoundError: boom"},
		{"PythonPrintsNoList", "echo hello", "", 0, "printed no package list"},
		{"PythonPrintsBadList", "echo 'MAGELAB-ENV {'", "", 0, "unreadable package list"},
		{"PythonHangs", "exec sleep 30", "", 200 * time.Millisecond, "context deadline exceeded"},
		{"RunDirMissing", `echo 'MAGELAB-ENV {"version":"3.12.1","packages":["a==1"]}'`, "/nonexistent/run", 0, "write pip-freeze.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			python := tc.python
			if python != "" && !strings.HasPrefix(python, "/") {
				python = envMustScript(t, filepath.Join(bin, tc.name), python)
			}
			runDir := tc.runDir
			if runDir == "" {
				runDir = t.TempDir()
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			env, warnings := Env(ctx, runDir, EnvOptions{Python: python, CacheDir: t.TempDir()})
			took := time.Since(start)
			assert.LessOrEqual(t, took, 10*time.Second, "StampEnv took %v", took)
			if assert.Len(t, warnings, 1, "warnings = %q, want one containing %q", warnings, tc.warn) {
				assert.Contains(t, warnings[0], tc.warn, "warnings = %q", warnings)
			}
			assert.Empty(t, env.PipFreeze, "env = %+v, want no freeze file", env)
			assert.NotEmpty(t, env.Hostname, "env = %+v, want host info", env)
			assert.Equal(t, python, env.Python, "env = %+v", env)
			_, err := os.Stat(filepath.Join(runDir, freezeName))
			assert.ErrorIs(t, err, fs.ErrNotExist, "pip-freeze.txt, want none")
		})
	}
}

// TestStampEnvCache runs StampEnv on a fake interpreter that counts its
// calls, through the changes that must (or must not) list packages again.
func TestStampEnvCache(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake interpreters are shell scripts")
	}
	dir := t.TempDir()
	venvDir, count := filepath.Join(dir, "venv"), filepath.Join(dir, "calls")
	require.NoError(t, os.MkdirAll(filepath.Join(venvDir, "bin"), 0o755))
	marker := filepath.Join(venvDir, venv.MarkerName)
	envMustWrite(t, marker, `{"hash":"one"}`)
	list := `echo calls >> ` + count + `; echo 'MAGELAB-ENV {"version":"3.12.1","site_dirs":[],"packages":["Alpha==1.0","beta==2.0"],"broken":%s}'`
	python := envMustScript(t, filepath.Join(venvDir, "bin", "python"), strings.Replace(list, "%s", "[]", 1))
	opts := EnvOptions{Python: python, ReqHash: "one", CacheDir: filepath.Join(dir, "freeze")}

	for _, tc := range []struct {
		name      string
		change    func()
		opts      func(EnvOptions) EnvOptions
		wantCalls int
		warn      string
	}{
		{"ColdListsPackages", nil, nil, 1, ""},
		{"SameStateUsesCache", nil, nil, 1, ""},
		{"MarkerChangeListsAgain", func() { envMustWrite(t, marker, `{"hash":"two"}`) }, nil, 2, ""},
		{"CachedAgain", nil, nil, 2, ""},
		{"InterpreterChangeListsAgain", func() {
			envMustScript(t, python, strings.Replace(list, "%s", `["/v/site-packages/bad.dist-info"]`, 1))
		}, nil, 3, "bad.dist-info"},
		{"NoCacheDirListsEveryTime", nil, func(o EnvOptions) EnvOptions { o.CacheDir = ""; return o }, 4, "bad.dist-info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change != nil {
				tc.change()
			}
			o := opts
			if tc.opts != nil {
				o = tc.opts(o)
			}
			runDir := t.TempDir()
			env, warnings := Env(context.Background(), runDir, o)
			assert.Equal(t, tc.wantCalls, envCalls(t, count), "times python ran in all")
			if tc.warn == "" {
				assert.Empty(t, warnings, "warnings")
			} else if assert.Len(t, warnings, 1, "warnings = %q, want %q", warnings, tc.warn) {
				assert.Contains(t, warnings[0], tc.warn, "warnings")
			}
			b, err := os.ReadFile(filepath.Join(runDir, freezeName))
			assert.NoError(t, err, "pip-freeze.txt")
			assert.Equal(t, "Alpha==1.0\nbeta==2.0\n", string(b), "pip-freeze.txt")
			assert.Equal(t, "3.12.1", env.PythonVersion, "env = %+v", env)
			assert.Equal(t, freezeName, env.PipFreeze, "env = %+v", env)
			assert.Equal(t, "one", env.RequirementsHash, "env = %+v", env)
		})
	}
}

func envMustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	require.NoError(tb, os.WriteFile(path, []byte(content), 0o644))
}

var envFreezeLine = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*==\S+$`)

// TestStampEnvRealVenv lists a real venv made by python3 -m venv, through a
// wrapper interpreter that counts how often python runs.
func TestStampEnvRealVenv(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a venv (seconds)")
	}
	python3, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	dir := t.TempDir()
	venvDir, count := filepath.Join(dir, "venv"), filepath.Join(dir, "calls")
	if out, err := exec.Command(python3, "-m", "venv", venvDir).CombinedOutput(); err != nil {
		// Debian's python3 without python3-venv has no ensurepip.
		pipless, err := exec.Command(python3, "-m", "venv", "--without-pip", venvDir).CombinedOutput()
		require.NoError(t, err, "python3 -m venv:\n%s", pipless)
		t.Logf("venv without pip: %s", out)
	}
	site, _ := filepath.Glob(filepath.Join(venvDir, "lib", "python3*", "site-packages"))
	require.Len(t, site, 1, "site-packages: %v", site)
	marker := filepath.Join(venvDir, venv.MarkerName)
	envMustWrite(t, marker, `{"hash":"one"}`)
	venvPython := filepath.Join(venvDir, "bin", "python")
	wrapper := envMustScript(t, filepath.Join(dir, "python"), "echo call >> "+count+"\nexec "+venvPython+` "$@"`)
	opts := EnvOptions{Python: wrapper, VenvDir: venvDir, ReqHash: "one", CacheDir: filepath.Join(dir, "freeze")}
	version, err := exec.Command(venvPython, "-c", "import platform; print(platform.python_version())").Output()
	require.NoError(t, err)
	stamp := func(t *testing.T) (record.Env, string, time.Duration) {
		t.Helper()
		runDir := t.TempDir()
		start := time.Now()
		env, warnings := Env(context.Background(), runDir, opts)
		took := time.Since(start)
		assert.Empty(t, warnings, "warnings")
		b, err := os.ReadFile(filepath.Join(runDir, freezeName))
		require.NoError(t, err)
		assert.Equal(t, strings.TrimSpace(string(version)), env.PythonVersion, "python version")
		return env, string(b), took
	}
	fakeDist := func(version string) string {
		d := filepath.Join(site[0], "magelab_fake-"+version+".dist-info")
		require.NoError(t, os.MkdirAll(d, 0o755))
		envMustWrite(t, filepath.Join(d, "METADATA"), "Metadata-Version: 2.1\nName: magelab-fake\nVersion: "+version+"\n")
		return d
	}

	var cold string
	var coldTook time.Duration
	t.Run("ColdListsNameEqualsVersion", func(t *testing.T) {
		_, cold, coldTook = stamp(t)
		lines := strings.Split(strings.TrimSuffix(cold, "\n"), "\n")
		for _, l := range lines {
			assert.Regexp(t, envFreezeLine, l, "line %q is not name==version", l)
		}
		assert.True(t, slices.IsSortedFunc(lines, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }),
			"not sorted case-insensitively:\n%s", cold)
		if _, err := os.Stat(filepath.Join(venvDir, "bin", "pip")); err == nil {
			assert.Contains(t, cold, "pip==", "the venv has pip, the list does not")
		}
		assert.Equal(t, 1, envCalls(t, count), "times python ran")
	})
	t.Run("MatchesPipFreezeAll", func(t *testing.T) {
		out, err := exec.Command(venvPython, "-m", "pip", "freeze", "--all", "--disable-pip-version-check").Output()
		if err != nil {
			t.Skipf("no pip in the venv: %v", err)
		}
		assert.Equal(t, string(out), cold, "the list, against pip freeze --all")
	})
	t.Run("SameStateUsesCache", func(t *testing.T) {
		_, again, took := stamp(t)
		assert.Equal(t, cold, again, "cached list")
		assert.Equal(t, 1, envCalls(t, count), "times python ran (the cache was not used)")
		t.Logf("StampEnv cold %v, cached %v", coldTook, took)
	})
	var fake string
	t.Run("NewDistInfoInvalidates", func(t *testing.T) {
		fake = fakeDist("1.0")
		_, list, _ := stamp(t)
		assert.Contains(t, list, "magelab-fake==1.0\n", "list lacks the new distribution")
		assert.Equal(t, 2, envCalls(t, count), "times python ran")
	})
	t.Run("UpgradeSeenEvenWithUnchangedMtime", func(t *testing.T) {
		fi, err := os.Stat(site[0])
		require.NoError(t, err)
		require.NoError(t, os.RemoveAll(fake))
		fakeDist("2.0")
		require.NoError(t, os.Chtimes(site[0], fi.ModTime(), fi.ModTime()))
		_, list, _ := stamp(t)
		assert.Contains(t, list, "magelab-fake==2.0\n", "list does not show the upgrade")
		assert.NotContains(t, list, "magelab-fake==1.0", "list does not show the upgrade")
	})
	t.Run("MarkerChangeInvalidates", func(t *testing.T) {
		before := envCalls(t, count)
		envMustWrite(t, marker, `{"hash":"two"}`)
		stamp(t)
		assert.Equal(t, before+1, envCalls(t, count), "times python ran")
	})
}
