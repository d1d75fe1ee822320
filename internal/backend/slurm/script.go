package slurm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// batch is one batch script: the sbatch options it carries as #SBATCH
// lines, and the magelab command each task execs.
type batch struct {
	Title   string   // the comment at the top: what the job is
	Options []string // sbatch options, one #SBATCH line each
	Root    string   // the project root, where the task runs
	Binary  string   // the magelab binary
	Args    []string // its arguments, shell-quoted; "$SLURM_ARRAY_TASK_ID" is left to the shell
}

// text is the batch script. It is pure: the same batch gives the same
// bytes.
func (b batch) text() string {
	var s strings.Builder
	s.WriteString("#!/bin/bash\n")
	for _, line := range strings.Split(b.Title, "\n") {
		s.WriteString("# " + line + "\n")
	}
	for _, o := range b.Options {
		s.WriteString("#SBATCH " + o + "\n")
	}
	fmt.Fprintf(&s, "cd %s || exit 1\n", quote(b.Root))
	s.WriteString("# exec: the batch shell becomes magelab, which so gets Slurm's signals\n")
	s.WriteString("# (--signal=B: signals the batch shell only).\n")
	words := []string{quote(b.Binary)}
	for _, a := range b.Args {
		if strings.Contains(a, "$SLURM_ARRAY_TASK_ID") {
			words = append(words, strings.Replace(a, "$SLURM_ARRAY_TASK_ID", `"$SLURM_ARRAY_TASK_ID"`, 1))
			continue
		}
		words = append(words, quote(a))
	}
	s.WriteString("exec " + strings.Join(words, " ") + "\n")
	return s.String()
}

// sbatchOptions are the sbatch options of the experiment's slurm block, in
// a fixed order, the block's sbatch_args last (so that they win).
func sbatchOptions(s *config.Slurm, name, output string) []string {
	opts := []string{"--job-name=" + name, "--output=" + output, "--open-mode=append", "--requeue"}
	if s.SignalLead > 0 {
		opts = append(opts, "--signal=B:USR1@"+strconv.Itoa(s.SignalLead))
	}
	if s.GPUs > 0 {
		opts = append(opts, "--gres=gpu:"+strconv.Itoa(s.GPUs))
	}
	for _, o := range []struct{ flag, val string }{{"--partition", s.Partition}, {"--account", s.Account},
		{"--qos", s.QOS}, {"--time", s.Time}, {"--mem", s.Mem}, {"--constraint", s.Constraint}} {
		if o.val != "" {
			opts = append(opts, o.flag+"="+o.val)
		}
	}
	if s.CPUs > 0 {
		opts = append(opts, "--cpus-per-task="+strconv.Itoa(s.CPUs))
	}
	return append(opts, s.Args...)
}

// arraySpec is sbatch's --array value for trials (0-based, ascending),
// at most parallel at a time (0: no limit): "0-5%2", "1,3-4".
func arraySpec(trials []int, parallel int) string {
	var parts []string
	for i := 0; i < len(trials); {
		j := i
		for j+1 < len(trials) && trials[j+1] == trials[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(trials[i]))
		} else {
			parts = append(parts, strconv.Itoa(trials[i])+"-"+strconv.Itoa(trials[j]))
		}
		i = j + 1
	}
	spec := strings.Join(parts, ",")
	if parallel > 0 && parallel < len(trials) {
		spec += "%" + strconv.Itoa(parallel)
	}
	return spec
}

// quote returns s as one shell word: as it is when it is plain, else in
// single quotes.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
