package stamp

// SlurmJob names the Slurm job this process runs in, as squeue names it:
// "ARRAYJOB_TASK" for a task of a job array, "JOB" for a plain job, ""
// outside Slurm. lookup reads the environment (nil: nowhere).
func SlurmJob(lookup func(string) (string, bool)) string {
	if lookup == nil {
		return ""
	}
	get := func(k string) string { v, _ := lookup(k); return v }
	if a, t := get("SLURM_ARRAY_JOB_ID"), get("SLURM_ARRAY_TASK_ID"); a != "" && t != "" {
		return a + "_" + t
	}
	return get("SLURM_JOB_ID")
}
