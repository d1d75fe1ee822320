package slurm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// PreflightError is a check that failed before anything was submitted.
type PreflightError struct {
	Pos config.Pos // where in the experiment the value at fault is; File "" when it is not the experiment's
	Msg string
}

func (e *PreflightError) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// preflight checks what can be checked before anything is written or
// submitted: sbatch is on PATH; the partition exists (sinfo), is up, and
// has a node with the GPUs a trial asks for; the submission's directory on
// the shared filesystem is writable.
func preflight(ctx context.Context, c Cluster, s *config.Slurm, dir string) error {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return &PreflightError{Msg: "sbatch is not on PATH: -backend=slurm submits through Slurm's own commands, so run it where they are (a login node of the cluster), or put Slurm's bin directory on PATH"}
	}
	parts, err := c.Partitions(ctx)
	if err != nil {
		return fmt.Errorf("ask the cluster for its partitions: %w", err)
	}
	if err := checkPartition(s, parts); err != nil {
		return err
	}
	return checkWritable(dir)
}

// checkPartition checks the slurm block against the cluster's partitions.
func checkPartition(s *config.Slurm, parts []Partition) error {
	var p *Partition
	var names []string
	for i := range parts {
		names = append(names, parts[i].Name)
		if parts[i].Name == s.Partition || (s.Partition == "" && parts[i].Default) {
			p = &parts[i]
		}
	}
	switch {
	case p == nil && s.Partition == "":
		return &PreflightError{Pos: s.At("slurm"), Msg: fmt.Sprintf("slurm: the cluster has no default partition: name one with partition: (it has %s)", strings.Join(names, ", "))}
	case p == nil:
		return &PreflightError{Pos: s.At("partition"), Msg: fmt.Sprintf("slurm.partition: %q is not a partition of this cluster (sinfo lists %s)", s.Partition, strings.Join(names, ", "))}
	case !p.Up:
		return &PreflightError{Pos: s.At("partition"), Msg: fmt.Sprintf("slurm.partition: partition %s is down (sinfo): nothing would start there", p.Name)}
	case s.GPUs > 0 && p.MaxGPUs == 0:
		return &PreflightError{Pos: s.At("gpus_per_trial"), Msg: fmt.Sprintf("slurm.gpus_per_trial: %d, but no node of partition %s has GPUs (gres gpu): pick a GPU partition, or set gpus_per_trial: 0 for CPU trials", s.GPUs, p.Name)}
	case s.GPUs > p.MaxGPUs:
		return &PreflightError{Pos: s.At("gpus_per_trial"), Msg: fmt.Sprintf("slurm.gpus_per_trial: %d, but the largest node of partition %s has %d GPU(s): the task would never start", s.GPUs, p.Name, p.MaxGPUs)}
	}
	return nil
}

// checkWritable makes dir and writes a file in it: the tasks and this side
// write there, and a directory that cannot be written would fail every task.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &PreflightError{Msg: fmt.Sprintf("the submission's directory %s cannot be made (%v): the project must be on a filesystem this user can write, which every node mounts", dir, err)}
	}
	probe := filepath.Join(dir, ".writable")
	if err := os.WriteFile(probe, []byte("ok\n"), 0o644); err != nil {
		return &PreflightError{Msg: fmt.Sprintf("the submission's directory %s is not writable (%v): the tasks write their runs there", dir, err)}
	}
	return os.Remove(probe)
}
