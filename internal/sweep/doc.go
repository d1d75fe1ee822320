// Package sweep runs an experiment's hyperparameter sweep: it expands the
// `sweep:` block (parsed and checked by config when the experiment is
// loaded) into trials (a grid, or random points from a recorded
// seed), runs them in parallel slots (one GPU each by default, or CPU
// slots with capped threads), reuses the trials a previous attempt of the
// same sweep finished, shows live progress, and records the sweep in the
// run ledger.
package sweep
