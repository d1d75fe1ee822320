// Package peers benchmarks magelab against the tools a user would pick
// instead — DVC, Guild AI and MLflow — side by side in one run, so that every
// figure is a ratio measured on the same machine at the same time.
//
// Run it from the repository root with `go tool mage bench` (-quick for a
// check that it works in a few minutes). It installs each peer into its own
// venv (.cache/bench-dvc, .cache/bench-guildai, .cache/bench-mlflow; uv, with
// bytecode compiled at install time), writes one toy project per tool from
// toy/ — the same three stage scripts, expressed as a magelab experiment, a
// dvc.yaml pipeline, a Guild operation and an MLproject — and measures:
//
//  1. one tracked run of the trivial pipeline (bare python as the floor);
//  2. the "nothing changed" re-run;
//  3. listing and querying 1,000 and 10,000 runs in each tool's own store;
//  4. a 16-trial grid of 1-second trials on 2 slots: wall time and failures.
//
// Cases run round-robin after a warm-up round, each a fresh process, and are
// reported as min/median/max with the ratio to magelab's median in the same
// run. Results go to bench/results/peers.{json,md}; the method and the
// caveats of each figure are in bench/peers/README.md.
package peers
