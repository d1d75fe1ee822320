// Package runner runs an experiment's pipeline: it builds the project venv,
// runs each stage as a process group under a context, caches the data
// stages' outputs by their content keys, and records train and eval runs in
// the ledger.
//
// Everything here returns errors and writes to the io.Writers it is given;
// printing to the terminal and exit codes belong to the target layer.
package runner
