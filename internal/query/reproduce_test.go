package query

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestReproductionFields checks that a reproduction's link and verdict,
// carried by its run.started and run.finished events, reach the summaries
// of both ledger readers and a record rebuilt from the ledger alone.
func TestReproductionFields(t *testing.T) {
	l := ledger.Open(t.TempDir())
	for _, ev := range recordtest.GoldenEvents() {
		mustAppend(t, l, ev)
	}
	want := recordtest.GoldenRun()
	check := func(name string, reproduces, verdict string) {
		t.Helper()
		assert.Equal(t, want.Reproduces, reproduces, "%s: reproduces", name)
		assert.Equal(t, want.Verdict, verdict, "%s: verdict", name)
	}
	all, _, err := l.Summaries()
	require.NoError(t, err, "summaries: %v", all)
	require.Len(t, all, 1, "summaries: %v %v", all, err)
	check("Summaries", all[0].Reproduces, all[0].Verdict)
	listed, _, err := List(l, Query{})
	require.NoError(t, err, "list: %v", listed)
	require.Len(t, listed, 1, "list: %v %v", listed, err)
	check("List", listed[0].Reproduces, listed[0].Verdict)
	r := record.RecordFromSummary(listed[0])
	check("RecordFromSummary", r.Reproduces, r.Verdict)
}
