// Package serve serves a finished run's model over HTTP with BentoML, as
// the experiment's serve: block says (the service file, its class, the
// model file a run writes under out/): the best run by the sweep's metric,
// or the newest, or the one asked for. The server runs in the experiment's
// venv until Ctrl-C, and nothing it started outlives it.
//
// It is a client of the runner; what to serve belongs to the experiment.
package serve
