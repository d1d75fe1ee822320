package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// stat is what magelab reads of a /proc/PID/stat line.
type stat struct {
	state byte   // field 3: R, S, D, Z (zombie), X (dead), ...
	ppid  int    // field 4
	start uint64 // field 22: clock ticks since boot
}

// ProcessStart returns the start time of pid in clock ticks since boot
// (field 22 of /proc/PID/stat). Together with the pid it names one process
// for the life of the machine: a pid reused by a later process has a later
// start. A process that does not exist gives an error wrapping
// os.ErrNotExist.
func ProcessStart(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.start, err
}

// SelfStart is ProcessStart of the current process, read once: it never
// changes.
var SelfStart = sync.OnceValues(func() (uint64, error) { return ProcessStart(os.Getpid()) })

// readStat reads /proc/PID/stat; the error names the pid.
func readStat(pid int) (stat, error) {
	if pid <= 0 {
		return stat{}, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return stat{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return st, nil
}

// parseStat parses a /proc/PID/stat line. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')': state is field 3, the parent field 4 and the
// start time field 22.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed stat: no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:])
	const ppidField, startField = 4 - 3, 22 - 3 // indices among the fields after the name
	if len(f) <= startField || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("malformed stat: %d fields after the command name, want at least %d", len(f), startField+1)
	}
	ppid, err := strconv.Atoi(string(f[ppidField]))
	if err != nil {
		return stat{}, fmt.Errorf("malformed stat: parent pid: %w", err)
	}
	start, err := strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("malformed stat: start time: %w", err)
	}
	return stat{state: f[0][0], ppid: ppid, start: start}, nil
}

// fsMounted reports whether /proc describes processes here.
func fsMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// Alive reports whether pid runs and, when start is not 0, is still the
// process that started at those ticks rather than a later one that reuses
// its pid. A zombie is gone: it only waits to be reaped. When /proc cannot
// tell (not Linux, hidepid, no permission), the signal check decides.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	signalled := err == nil
	st, err := readStat(pid)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Exited since the signal, unless /proc is absent or hides the
		// processes of other users.
		return !signalled || !fsMounted()
	case err != nil:
		return true
	case st.state == 'Z':
		return false
	}
	return start == 0 || st.start == start
}

// Hostname is the name runs record as their host: the crash rule judges
// only the runs of this host.
func Hostname() string {
	h, _ := os.Hostname()
	return h
}
