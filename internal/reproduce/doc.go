// Package reproduce reruns a recorded run from its exact code and compares
// its metrics: the run's commit checked out in a temporary linked worktree
// under .magelab/reproduce/, its git.patch applied and its untracked files
// restored, its experiment file, resolved params, seed and determinism
// variables as recorded, on the project venv or (FreshEnv) one built from
// its pip-freeze.txt. The rerun is a new run recording `reproduces` and the
// verdict; metrics that drift are a *DriftError (exit status 3).
//
// It is a client of the runner: the checkout is a project of its own (on
// the same ledger, with its own stage cache) whose runs it starts,
// trains, evaluates and finishes through the runner's API.
package reproduce
