package gpu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The arguments the fixtures were captured with (testdata/h200/README.md):
// the fake answers only these, as a real nvidia-smi answers only fields it
// knows, so a typo in the code's field list fails the tests.
const (
	fixtureQuery     = "--query-gpu=index,name,uuid,driver_version,memory.total,memory.used,utilization.gpu,utilization.memory,power.draw,temperature.gpu,pci.bus_id --format=csv,noheader,nounits"
	fixtureTelemetry = "--query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,power.draw --format=csv,noheader,nounits -lms"
)

// smiMessages are nvidia-smi's messages for its failure exit codes
// (testdata/h200/README.md).
var smiMessages = map[int]string{
	2:  `Field "cuda_version" is not a valid field to query.`,
	6:  "No devices were found",
	9:  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
	12: "NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that the NVIDIA Display Driver is properly installed and present in your system.",
	18: "Failed to initialize NVML: Driver/library version mismatch",
}

// fakeSMI describes a fake nvidia-smi.
type fakeSMI struct {
	Query   string // file printed for the inventory query; default testdata/h200/query.csv
	Version string // file printed for --version; default testdata/h200/version.txt; "-" for an nvidia-smi without --version
	Exit    int    // every call prints smiMessages[Exit] and exits with it
	Hang    bool   // every call hangs (in a child, so only a group kill ends it)

	Stream     string // file printed for -lms, after which it idles until SIGINT
	Loop       bool   // print Stream again and again instead
	Gate       string // -lms waits for this file to exist before printing
	StreamExit int    // -lms prints smiMessages[StreamExit] and exits with it
	IgnoreINT  bool   // -lms ignores SIGINT: only SIGKILL stops it; else SIGINT logs "SIGINT" and exits 0

	dir string
}

// fakeDir is where a fake's script writes its call log and pid.
type fakeDir string

func (d fakeDir) calls(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(string(d), "calls.log"))
	if !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (d fakeDir) pid(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(string(d), "pid"))
	require.NoError(t, err)
	var pid int
	fmt.Sscan(string(b), &pid)
	return pid
}

// mustFakeSMI writes the fake as a shell script named nvidia-smi in a new
// directory and puts that directory first on PATH for the rest of the test.
func mustFakeSMI(t testing.TB, f fakeSMI) fakeDir {
	t.Helper()
	dir := t.TempDir()
	f.dir = dir
	abs := func(p, def string) string {
		if p == "" {
			p = def
		}
		a, err := filepath.Abs(p)
		require.NoError(t, err)
		return a
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\necho \"$*\" >> %s\necho $$ > %s\n", q(filepath.Join(dir, "calls.log")), q(filepath.Join(dir, "pid")))
	if f.Hang {
		b.WriteString("sleep 60\nexit 0\n")
	}
	if f.Exit != 0 {
		fmt.Fprintf(&b, "echo %s\nexit %d\n", q(smiMessages[f.Exit]), f.Exit)
	}
	b.WriteString("case \"$*\" in\n")
	if f.Version == "-" {
		b.WriteString("--version) echo \"Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\"; exit 2 ;;\n")
	} else {
		fmt.Fprintf(&b, "--version) cat %s ;;\n", q(abs(f.Version, "testdata/h200/version.txt")))
	}
	fmt.Fprintf(&b, "'') cat %s ;;\n", q(abs("testdata/h200/nvidia-smi.txt", "")))
	fmt.Fprintf(&b, "%s) cat %s ;;\n", q(fixtureQuery), q(abs(f.Query, "testdata/h200/query.csv")))
	fmt.Fprintf(&b, "%s' '[0-9]*)\n", q(fixtureTelemetry))
	b.WriteString(f.streamScript(q, abs))
	b.WriteString(";;\n")
	fmt.Fprintf(&b, "*) echo %s; exit 2 ;;\nesac\n", q(`Field "bogus" is not a valid field to query.`))
	path := filepath.Join(dir, smiName)
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return fakeDir(dir)
}

// streamScript is the -lms branch of the fake.
func (f fakeSMI) streamScript(q func(string) string, abs func(string, string) string) string {
	var b strings.Builder
	if f.StreamExit != 0 {
		fmt.Fprintf(&b, "  echo %s; exit %d\n", q(smiMessages[f.StreamExit]), f.StreamExit)
		return b.String()
	}
	if f.IgnoreINT {
		b.WriteString("  trap '' INT\n")
	} else {
		fmt.Fprintf(&b, "  trap 'echo SIGINT >> %s; exit 0' INT\n", q(filepath.Join(f.dir, "calls.log")))
	}
	if f.Gate != "" {
		fmt.Fprintf(&b, "  while [ ! -e %s ]; do sleep 0.01; done\n", q(f.Gate))
	}
	if f.Stream != "" {
		stream := q(abs(f.Stream, ""))
		if f.Loop {
			fmt.Fprintf(&b, "  while :; do cat %s; sleep 0.02; done\n", stream)
		} else {
			fmt.Fprintf(&b, "  cat %s\n", stream)
		}
	}
	b.WriteString("  while :; do sleep 0.05; done\n")
	return b.String()
}
