package gpu

import "strings"

// Allocated returns the GPUs a Slurm allocation gave this process, as
// CUDA_VISIBLE_DEVICES entries, and whether the process runs inside one
// (SLURM_JOB_ID set). Slurm's gres plugin sets CUDA_VISIBLE_DEVICES for the
// GPUs it allots; where a site's configuration leaves it unset, the step's
// or the job's GPU list (SLURM_STEP_GPUS, SLURM_JOB_GPUS) says the same. An
// allocation without GPUs gives none. Nothing here asks nvidia-smi: a node
// without it, or a cgroup that hides it, still has the GPUs Slurm gave.
// lookup reads the environment.
func Allocated(lookup func(string) (string, bool)) (devices []string, inside bool) {
	if lookup == nil {
		return nil, false
	}
	if v, _ := lookup("SLURM_JOB_ID"); v == "" {
		return nil, false
	}
	for _, k := range []string{"CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"} {
		v, ok := lookup(k)
		if !ok {
			continue
		}
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				devices = append(devices, e)
			}
		}
		return devices, true
	}
	return nil, true
}
