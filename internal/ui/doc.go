// Package ui is magelab's local web UI over the run ledger: a read-only
// HTTP server (Server) with a JSON API under /api/ (runs filtered with the
// -where language, one run, its metric and GPU series downsampled to a
// requested width, sweeps, a run's files, server-sent events for live
// runs), and the pages that are one client of that API, embedded with
// go:embed (assets/: plain ES modules and the vendored uPlot, nothing
// fetched at run time). WriteReport freezes the same pages and their data
// into one self-contained HTML file.
//
// It reads the ledger through query and the run directories through
// os.Root, so a file route never leaves the run's directory. It owns no
// state of its own and changes nothing: every route is GET or HEAD. What a
// listing shows (columns, differing params) is report's, so the table on
// the terminal and in the page agree.
package ui
