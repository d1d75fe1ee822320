// Package tracking records runs: the run record (run.json), the append-only
// ledger of run events (runs/ledger.jsonl) and the queries over both.
//
// The ledger is the source of truth for which runs exist and how they ended;
// run.json holds the full record of one run. Appends take an exclusive lock
// and write one whole line, so concurrent magelab processes never interleave
// events, and a reader skips a torn last line left by a crash.
package tracking
