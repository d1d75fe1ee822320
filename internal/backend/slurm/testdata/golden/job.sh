#!/bin/bash
# magelab: sweep 3f2a9c1b7d4e of digits-mlp, 9 trials; task K of the array runs trial K+1.
# Submitted with sbatch --parsable --array=SPEC /shared/proj/.magelab/slurm/3f2a9c1b7d4e/job.sh (SPEC: the trials, %P at a time).
#SBATCH --job-name=magelab-3f2a9c1b7d4e
#SBATCH --output=/shared/proj/.magelab/slurm/3f2a9c1b7d4e/logs/%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --signal=B:USR1@90
#SBATCH --gres=gpu:1
#SBATCH --partition=gpu
#SBATCH --account=proj-42
#SBATCH --time=04:00:00
#SBATCH --mem=32G
#SBATCH --cpus-per-task=8
#SBATCH --exclusive
cd /shared/proj || exit 1
# exec: the batch shell becomes magelab, which so gets Slurm's signals
# (--signal=B: signals the batch shell only).
exec /shared/proj/.magelab/bin/magelab sweep:trial -plan=/shared/proj/.magelab/slurm/3f2a9c1b7d4e/plan.json -chunk="$SLURM_ARRAY_TASK_ID"
