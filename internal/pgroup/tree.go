package pgroup

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// Proc names one process for the life of the machine: its pid and its start
// time in clock ticks since boot, so that a pid reused later is not taken
// for it.
type Proc struct {
	PID   int
	Start uint64
}

// Descendants returns the processes below pid — its children, theirs, and
// so on — as /proc shows them now; nil where /proc cannot be read. Servers
// such as BentoML's start workers in sessions of their own, out of reach of
// a signal to the process group: this finds them while their parent lives.
func Descendants(pid int) []Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]Proc{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(child)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], Proc{PID: child, Start: st.start})
	}
	var out []Proc
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// Alive reports whether p is still running: its pid exists, with the same
// start time, and is not a zombie.
func (p Proc) Alive() bool {
	st, err := readStat(p.PID)
	return err == nil && st.start == p.Start && st.state != 'Z' && st.state != 'X'
}

// Kill sends sig to p when it is still the process it was.
func (p Proc) Kill(sig syscall.Signal) {
	if p.Alive() {
		syscall.Kill(p.PID, sig)
	}
}

type stat struct {
	state byte
	ppid  int
	start uint64
}

// readStat reads the state, parent and start time of pid from
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed stat: no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:])
	const ppidField, startField = 4 - 3, 22 - 3 // indices among the fields after the name
	if len(f) <= startField || len(f[0]) != 1 {
		return stat{}, errors.New("malformed stat: too few fields")
	}
	ppid, err := strconv.Atoi(string(f[ppidField]))
	if err != nil {
		return stat{}, err
	}
	start, err := strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return stat{}, err
	}
	return stat{state: f[0][0], ppid: ppid, start: start}, nil
}
