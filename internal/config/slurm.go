package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// Backends are the accepted values of backend: where sweep and train run.
var Backends = []string{"local", "slurm"}

// Slurm is an experiment's slurm: block: how its runs are submitted to a
// Slurm cluster (backend: slurm, or -backend=slurm). Every field but the
// signal settings becomes an sbatch option; the block is checked when the
// experiment is loaded.
type Slurm struct {
	Partition  string // --partition; "" for the cluster's default
	Account    string // --account
	QOS        string // --qos
	Time       string // --time, in Slurm's format (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]])
	TimeSec    int    // Time in seconds; 0 when no time is given
	GPUs       int    // gpus_per_trial: --gres=gpu:N per task; 0 asks for none
	CPUs       int    // cpus_per_task: --cpus-per-task; 0 leaves Slurm's default
	Mem        string // --mem per task: 16G, 500M; "" leaves Slurm's default
	Constraint string // --constraint
	// Args are extra sbatch arguments, passed as written, after the ones
	// above (so they win).
	Args []string
	// SignalLead is how many seconds before the time limit (or at a
	// preemption) Slurm warns the task: --signal=B:USR1@SignalLead. 0 asks
	// for no warning.
	SignalLead int
	// StopSignal is what the trial forwards to its stage's process group on
	// that warning, so that the script can checkpoint (default SIGINT).
	StopSignal syscall.Signal
	// Pos is where each key is written (by key, and "slurm" for the block),
	// for the errors of checks made against the cluster later.
	Pos map[string]Pos
}

// At is where key of the block is written, or the block itself when the
// key is not: the start of an error about it.
func (s *Slurm) At(key string) Pos {
	if p, ok := s.Pos[key]; ok {
		return p
	}
	return s.Pos["slurm"]
}

// slurmKeys are the keys of a slurm block.
var slurmKeys = []string{"partition", "account", "qos", "time", "gpus_per_trial", "cpus_per_task", "mem",
	"constraint", "sbatch_args", "signal_lead", "stop_signal"}

// DefaultSignalLead is the warning's default lead time, in seconds.
const DefaultSignalLead = 90

// stopSignals are the signals stop_signal may name.
var stopSignals = map[string]syscall.Signal{"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2, "SIGHUP": syscall.SIGHUP, "SIGQUIT": syscall.SIGQUIT}

var (
	memSize   = regexp.MustCompile(`^[0-9]+[KMGT]?$`)
	slurmName = regexp.MustCompile(`^[A-Za-z0-9_.:@+-]+$`) // partition, account, qos: no spaces or shell characters
)

// DefaultSlurm is the slurm block of an experiment that has none: one GPU
// per trial, the warning 90 s ahead, SIGINT to the stage.
func DefaultSlurm() *Slurm {
	return &Slurm{GPUs: 1, SignalLead: DefaultSignalLead, StopSignal: syscall.SIGINT}
}

// SignalName is the name stop_signal gives sig ("SIGINT"), or sig's own
// description for a signal it does not take.
func SignalName(sig syscall.Signal) string {
	for name, s := range stopSignals {
		if s == sig {
			return name
		}
	}
	return sig.String()
}

// backend decodes backend: local or slurm.
func (d *decoder) backend(n *yaml.Node, e *Experiment) {
	var s string
	d.str(n, "backend", &s)
	if s == "" {
		return
	}
	if !slices.Contains(Backends, s) {
		d.errorf(n, "backend: %q is not one of %s%s", s, strings.Join(Backends, ", "), didYouMean(s, Backends))
		return
	}
	e.Backend = s
}

func (d *decoder) slurm(n *yaml.Node, e *Experiment) {
	s := DefaultSlurm()
	s.Pos = map[string]Pos{"slurm": d.pos(n)}
	if isNull(n) {
		e.Slurm = s
		return
	}
	fails := len(d.errs.list) + d.errs.extra
	pairs := d.block(n, "slurm", slurmKeys)
	nodes := map[string]*yaml.Node{}
	for _, p := range pairs {
		nodes[p.key.Value] = p.val
		s.Pos[p.key.Value] = d.pos(p.val)
		field := "slurm." + p.key.Value
		switch p.key.Value {
		case "partition":
			d.slurmName(p.val, field, &s.Partition)
		case "account":
			d.slurmName(p.val, field, &s.Account)
		case "qos":
			d.slurmName(p.val, field, &s.QOS)
		case "constraint":
			d.str(p.val, field, &s.Constraint)
		case "time":
			d.slurmTime(p.val, s)
		case "gpus_per_trial":
			d.count(p.val, field, 0, &s.GPUs)
		case "cpus_per_task":
			d.count(p.val, field, 1, &s.CPUs)
		case "signal_lead":
			d.count(p.val, field, 0, &s.SignalLead)
		case "mem":
			d.scalarText(p.val, field, &s.Mem)
			if s.Mem != "" && !memSize.MatchString(s.Mem) {
				d.errorf(p.val, "%s: %q is not a size as sbatch --mem takes it (a number with an optional K, M, G or T: 16G)", field, s.Mem)
			}
		case "stop_signal":
			d.stopSignal(p.val, s)
		case "sbatch_args":
			d.sbatchArgs(p.val, s)
		}
	}
	if s.TimeSec > 0 && s.SignalLead >= s.TimeSec {
		d.errorf(nodes["signal_lead"], "slurm.signal_lead: %d s is not less than time: %s (%d s): the warning would come as the task starts; lower signal_lead, or set it to 0 for none", s.SignalLead, s.Time, s.TimeSec)
	}
	if len(d.errs.list)+d.errs.extra == fails {
		e.Slurm = s
	}
}

// slurmName decodes a partition, account or qos name.
func (d *decoder) slurmName(n *yaml.Node, field string, dst *string) {
	d.str(n, field, dst)
	if *dst != "" && !slurmName.MatchString(*dst) {
		d.errorf(n, "%s: %q is not a Slurm name (letters, digits and _.:@+- only)", field, *dst)
		*dst = ""
	}
}

// scalarText decodes a scalar of any type as its text (mem: 500 is "500").
func (d *decoder) scalarText(n *yaml.Node, field string, dst *string) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a value, found %s", field, describe(n))
		return
	}
	*dst = n.Value
}

// count decodes an integer ≥ min.
func (d *decoder) count(n *yaml.Node, field string, min int, dst *int) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, "%s: expected an integer ≥ %d, found %s", field, min, describe(n))
		return
	}
	v, ok := d.scalar(n, field)
	if !ok {
		return
	}
	if i := v.(int); i < min {
		d.errorf(n, "%s: expected an integer ≥ %d, found %d", field, min, i)
	} else {
		*dst = i
	}
}

func (d *decoder) slurmTime(n *yaml.Node, s *Slurm) {
	d.scalarText(n, "slurm.time", &s.Time)
	if s.Time == "" {
		return
	}
	sec, err := ParseSlurmTime(s.Time)
	if err != nil {
		d.errorf(n, "slurm.time: %v", err)
		s.Time = ""
		return
	}
	s.TimeSec = sec
}

func (d *decoder) stopSignal(n *yaml.Node, s *Slurm) {
	var name string
	d.str(n, "slurm.stop_signal", &name)
	if name == "" {
		return
	}
	up := strings.ToUpper(name)
	if !strings.HasPrefix(up, "SIG") {
		up = "SIG" + up
	}
	sig, ok := stopSignals[up]
	if !ok {
		names := make([]string, 0, len(stopSignals))
		for k := range stopSignals {
			names = append(names, k)
		}
		slices.Sort(names)
		d.errorf(n, "slurm.stop_signal: %q is not one of %s%s", name, strings.Join(names, ", "), didYouMean(up, names))
		return
	}
	s.StopSignal = sig
}

func (d *decoder) sbatchArgs(n *yaml.Node, s *Slurm) {
	n = deref(n)
	if isNull(n) {
		return
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	for _, it := range items {
		it = deref(it)
		if it == nil || it.Kind != yaml.ScalarNode || isNull(it) || !strings.HasPrefix(it.Value, "-") {
			d.errorf(it, "slurm.sbatch_args: expected a list of sbatch options (--exclusive, --nodelist=gpu7), found %s", describe(it))
			continue
		}
		s.Args = append(s.Args, it.Value)
	}
}

// ParseSlurmTime reads a time limit as sbatch --time takes it — minutes,
// MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS — and returns it in seconds.
func ParseSlurmTime(t string) (int, error) {
	bad := fmt.Errorf("%q is not a time limit as sbatch --time takes it (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS: 90, 1:30:00, 2-00:00:00)", t)
	days := 0
	rest := t
	if d, r, ok := strings.Cut(t, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || r == "" {
			return 0, bad
		}
		days, rest = n, r
	}
	var nums []int
	for _, f := range strings.Split(rest, ":") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || f == "" || strings.ContainsAny(f, "+-") {
			return 0, bad
		}
		nums = append(nums, n)
	}
	var sec int
	switch {
	case len(nums) > 3:
		return 0, bad
	case days > 0 || strings.Contains(t, "-"): // D-HH, D-HH:MM, D-HH:MM:SS
		units := []int{3600, 60, 1}
		for i, n := range nums {
			sec += n * units[i]
		}
	case len(nums) == 1: // minutes
		sec = nums[0] * 60
	case len(nums) == 2: // MM:SS
		sec = nums[0]*60 + nums[1]
	default: // HH:MM:SS
		sec = nums[0]*3600 + nums[1]*60 + nums[2]
	}
	sec += days * 86400
	if sec <= 0 {
		return 0, fmt.Errorf("%q is no time at all: give the task a time limit above zero, or leave time: out for the partition's default", t)
	}
	return sec, nil
}
