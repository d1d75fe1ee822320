// Package search runs Optuna for magelab's sweeps: the adaptive methods
// (tpe, cmaes) and early stopping (median, asha, hyperband) through a
// long-lived Python helper, helper.py, in a venv of its own with a pinned
// optuna. The helper answers one JSON line for each JSON line it reads
// (ask, tell, report, ...) and keeps the study in an Optuna JournalStorage
// file, so that a sweep resumes where it stopped and optuna-dashboard can
// open the study. The package also follows a running trial's
// metrics.jsonl, step by step, for the pruner.
//
// It owns the helper's protocol, the mapping of a sweep's parameters onto
// Optuna distributions, and its venv. It does not run trials, slots or the
// ledger: internal/sweep drives a Study and stops the trials it prunes.
package search
