// Package report turns runs into text for people and tools: the runs
// listing as a table, markdown (with a mermaid chart), CSV or JSON; one run
// (runs:show); runs side by side (runs:compare); an import's report; and
// the metrics line train and eval print.
//
// It reads record types only and writes to the io.Writer it is given. A
// sweep's own tables are the sweep package's, a reproduction's comparison
// the reproduce package's.
package report
