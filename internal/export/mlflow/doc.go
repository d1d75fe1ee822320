// Package mlflow publishes magelab's runs and sweeps to an MLflow tracking
// server over its REST API (`runs:export -to=mlflow`, and the experiment's
// `export: {mlflow: auto}` after train and sweep). Nothing of MLflow is
// needed on this side: it speaks HTTP and JSON to the server.
//
// What maps to what: a magelab experiment is an MLflow experiment (created
// when missing, under an optional name prefix); a run is an MLflow run with
// magelab's start and end times and its status (finished → FINISHED,
// failed and crashed → FAILED, interrupted → KILLED); its params flattened
// with dotted keys; its final metrics, every step of out/metrics.jsonl and
// the GPU samples of gpu.csv (as MLflow's system/ metrics) as metric
// history; tags for the git commit, branch and remote, the run's id, dirty
// tree, sweep and reproduction verdict; and its files (run.json,
// params.yaml, git.patch, pip-freeze.txt, logs, gpu.csv, untracked files,
// and with -artifacts=all its outputs) as artifacts through the server's
// proxied artifact API. A sweep is a parent run of its trials
// (mlflow.parentRunId) carrying the sweep's spec and its best trial.
//
// An export is incremental and idempotent, and the server is its only
// state: a run is found by its magelab.run_id tag, and the last thing
// written for it is the magelab.export tag, a digest of everything sent.
// A run whose tag matches what would be sent now is skipped without a
// write; one that changed (an eval added metrics, a reproduction a
// verdict) or was cut off half-way is compared with what the server holds,
// and only what is missing is sent. So an export that fails in the middle
// is completed, without duplicates, by running it again, and a run is
// never marked exported before all of it is there.
//
// The package reads the ledger (through ledger and query) and the files of
// run directories; it writes nothing under runs/. Which runs to export and
// where is the caller's (the targets'); how a run is recorded is runner's.
package mlflow
