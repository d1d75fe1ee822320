// Package record holds the types of what magelab records: a run's full
// record (run.json: Run, StageRecord, Git, Env, GPU, Process), the ledger's
// events (Event, GitBrief), what the ledger knows of a run (Summary), the
// statuses, and run ids (UUIDv7).
//
// It is types and pure functions only: no files, no processes. Reading and
// writing them is the ledger's job; filling them, the stamp's and the
// runner's; showing them, the report's. Their JSON encodings are on-disk
// formats: ledger/testdata/golden holds them, and recordtest a record with
// every field set, so that a new field shows up in review.
package record
