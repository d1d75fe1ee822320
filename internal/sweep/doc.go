// Package sweep runs an experiment's hyperparameter sweep: it expands the
// `sweep:` block (parsed and checked by config when the experiment is
// loaded) into trials (a grid, or random points from a recorded
// seed), runs them in parallel slots (one GPU each by default, or CPU
// slots with capped threads), reuses the trials a previous attempt of the
// same sweep finished, shows live progress, and records the sweep in the
// run ledger. For tpe and cmaes the trials come from an Optuna study
// (internal/search) one ask at a time as slots free up; with early_stop,
// each trial's metrics.jsonl is followed and a trial the pruner stops is
// cancelled with runner.Pruned and recorded as pruned.
package sweep
