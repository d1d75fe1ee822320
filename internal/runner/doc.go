// Package runner runs an experiment's pipeline: it builds the venv, runs
// each stage as a process under a context, caches the data stages' outputs
// by their content keys, and records train and eval runs in the ledger.
//
// Train, Eval and Data are the pipeline's entry points. Clients that run
// the pipeline their own way (a sweep trial, a reproduction) use the run
// API: StartRun puts a run in the ledger and stamps it, Run.Train runs its
// data and train stages, EvalStage its eval stage, Run.Finish records how
// it ended; StageKeys and EvalKey give the content keys, RunParams a run's
// params exactly as it ran with them.
//
// Which files and output lines a stage's metrics are read from, and in what
// order, is internal/metrics' job; runner only says where to look (the run's
// directory for train, the eval output for eval) and records the result.
//
// Everything here returns errors and writes to the io.Writers it is given;
// printing to the terminal and exit codes belong to the target layer.
// Sweeps, reproductions and serving are clients of this package, in
// packages of their own.
package runner
