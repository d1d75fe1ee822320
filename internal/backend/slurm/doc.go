// Package slurm runs sweeps and single runs on a Slurm cluster, through
// Slurm's own commands and nothing home-made in between: a sweep is one
// job array (sbatch --array=0-(N-1)%P of one batch script), each task
// running one trial with `sweep:trial` from a magelab binary built once;
// a run is one job. squeue and scontrol (and sacct, once a job has left
// the controller's memory) say how the tasks stand; scancel cancels them;
// sinfo answers the checks made before anything is submitted.
//
// The project directory is on a filesystem that every node mounts at the
// same path and that may not honour locks across nodes (NFS). So each
// task writes only where no other task does — a runs/ tree of its own
// under .magelab/slurm/<sweep>/trials/<k>/, with its own hash cache — and
// the submitting side, which alone writes .magelab/slurm/<sweep>/jobs.json
// and runs/, merges a trial's tree with the ledger's import (idempotent)
// once the trial is over. The data stages and the venv are made on the
// submitting side before the array is submitted, so that the tasks only
// read them (compute nodes often have no network, either).
//
// Inside a task: the trial uses the GPUs Slurm allotted (CUDA_VISIBLE_DEVICES
// as Slurm set it, never overridden); Slurm's warning signal (--signal=B:USR1
// before the time limit, or at a preemption) and SIGTERM (a requeue, a cancel,
// the limit itself) stop the stage with the experiment's stop signal so that
// it can checkpoint, and the run is recorded as preempted; when Slurm
// requeues the task, the next attempt gets the previous attempt's output as
// ${resume_dir} and MAGELAB_RESUME_DIR. A task that Slurm killed before it
// could record its end (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, CANCELLED) is
// recorded by the submitting side with Slurm's own state and reason, before
// it is merged, so that no run stays "running" for ever.
//
// This package does not schedule anything itself, does not talk to
// slurmrestd, and knows nothing of the pipeline: trials are the sweep
// package's, runs the runner's.
package slurm
