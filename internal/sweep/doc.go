// Package sweep runs an experiment's hyperparameter sweep: it expands the
// `sweep:` block (parsed and checked by config when the experiment is
// loaded) into trials (a grid, or random points from a recorded
// seed), runs them in parallel slots (one GPU each by default, or CPU
// slots with capped threads, or the one slot of a Slurm allocation), reuses
// the trials a previous attempt of the same sweep finished and gives the
// others the output of their last unfinished attempt to resume from, shows
// live progress, and records the sweep in the run ledger. For tpe and cmaes
// the trials come from an Optuna study (internal/search) one ask at a time
// as slots free up; with early_stop, each trial's metrics.jsonl is followed
// and a trial the pruner stops is cancelled with runner.Pruned and recorded
// as pruned. Backends that run trials elsewhere (internal/backend/slurm)
// plan with PlanPerTrial, read LatestAttempts, show progress with a Tracker
// and record the end with Report.
package sweep
