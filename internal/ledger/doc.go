// Package ledger owns runs/: the append-only ledger of run events
// (runs/ledger.jsonl), one directory per run with its record (run.json),
// the fold of events into summaries with the crash rule, and the import of
// other runs/ trees (directories and .tar, .tar.gz and .zip archives).
//
// The ledger is the source of truth for which runs exist and how they
// ended; run.json holds the full record of one run. Appends take an
// exclusive lock and write one whole line, so concurrent magelab processes
// never interleave events, and a reader skips a torn last line left by a
// crash. A run whose run.finished never came is crashed when its process
// (host, pid and start time) is gone. An import is idempotent: run ids are
// UUIDv7, so the same run merged twice is the same run.
//
// Queries over the ledger (filters, sorting, short ids) are the query
// package's; the event and record types are record's.
package ledger
