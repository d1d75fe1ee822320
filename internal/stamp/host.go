package stamp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// HostInfo is the machine part of Env: OS pretty name (/etc/os-release),
// kernel release (as `uname -r`), CPU model (/proc/cpuinfo), the logical
// CPUs this process may use, total RAM (/proc/meminfo, the machine's, not a
// container limit), hostname and magelab's version from the build info.
// It reads files only: no processes.
func HostInfo() record.Env {
	e := record.Env{OS: osName(), Cores: runtime.NumCPU(), Hostname: proc.Hostname()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		e.CPU = cpuModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		e.RAMBytes = memTotal(b)
	}
	bi, ok := debug.ReadBuildInfo()
	e.Magelab = magelabVersion(bi, ok)
	return e
}

func osName() string {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := os.ReadFile(p); err == nil {
			if name := osRelease(b); name != "" {
				return name
			}
		}
	}
	return runtime.GOOS
}

// osRelease returns PRETTY_NAME of an os-release file, else NAME VERSION.
func osRelease(b []byte) string {
	kv := keyValues(b, "=")
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

// cpuModel returns the CPU model of a /proc/cpuinfo: "model name" on x86,
// else the board or the ARM core named from its implementer and part ids.
func cpuModel(b []byte) string {
	kv := keyValues(b, ":")
	for _, k := range []string{"model name", "Model", "Hardware", "cpu model", "cpu"} {
		if kv[k] != "" {
			return kv[k]
		}
	}
	impl, part := kv["CPU implementer"], kv["CPU part"]
	if impl == "" {
		return ""
	}
	if name, ok := armCores[impl+"/"+part]; ok {
		return name
	}
	return fmt.Sprintf("ARM implementer %s part %s", impl, part)
}

// armCores names the server ARM cores GPU machines have.
var armCores = map[string]string{
	"0x41/0xd0c": "ARM Neoverse-N1", "0x41/0xd40": "ARM Neoverse-V1",
	"0x41/0xd49": "ARM Neoverse-N2", "0x41/0xd4f": "ARM Neoverse-V2",
	"0x41/0xd8e": "ARM Neoverse-N3", "0x41/0xd84": "ARM Neoverse-V3",
	"0xc0/0xac3": "Ampere-1", "0xc0/0xac4": "Ampere-1a",
}

// memTotal returns MemTotal of a /proc/meminfo in bytes.
func memTotal(b []byte) uint64 {
	f := strings.Fields(keyValues(b, ":")["MemTotal"])
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// keyValues reads "key<sep>value" lines; the first of a key wins (cpuinfo
// repeats its block per CPU).
func keyValues(b []byte, sep string) map[string]string {
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

// magelabVersion is magelab's module version, or the commit it was built
// from (+dirty) when built from a checkout, or "devel" (go test, go run).
func magelabVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "devel"
	}
	if bi.Main.Path != modulePath {
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return orDefault(d.Version, "devel")
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

func orDefault(s, def string) string {
	if s == "" || s == "(devel)" {
		return def
	}
	return s
}
