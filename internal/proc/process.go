package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ProcessStart returns the start time of pid in clock ticks since boot
// (field 22 of /proc/PID/stat). Together with the pid it names one process
// for the life of the machine: a pid reused by a later process has a later
// start. A process that does not exist gives an error wrapping
// os.ErrNotExist.
func ProcessStart(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

// procStat reads the state letter and start ticks of pid.
func procStat(pid int) (state byte, start uint64, err error) {
	if pid <= 0 {
		return 0, 0, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	state, start, err = procParseStat(b)
	if err != nil {
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return state, start, nil
}

// procParseStat parses a /proc/PID/stat line. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')': state is field 3, starttime field 22.
func procParseStat(b []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat: no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:])
	const startField = 22 - 3 // index of field 22 among the fields after the name
	if len(f) <= startField || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed stat: %d fields after the command name, want at least %d", len(f), startField+1)
	}
	start, err = strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed stat: start time: %w", err)
	}
	return f[0][0], start, nil
}

// procFSMounted reports whether /proc describes processes here.
func procFSMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// Alive reports whether pid runs and, when start is not 0, is still
// the process that started at those ticks rather than a later one that
// reuses its pid. A zombie is gone: it only waits to be reaped. When /proc
// cannot tell (not Linux, hidepid, no permission), the signal check decides.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	signalled := err == nil
	state, got, err := procStat(pid)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Exited since the signal, unless /proc is absent or hides the
		// processes of other users.
		return !signalled || !procFSMounted()
	case err != nil:
		return true
	case state == 'Z':
		return false
	}
	return start == 0 || got == start
}

func Hostname() string {
	h, _ := os.Hostname()
	return h
}
