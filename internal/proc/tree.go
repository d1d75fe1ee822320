package proc

import (
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
