package query

import (
	"testing"

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
		if reproduces != want.Reproduces || verdict != want.Verdict {
			t.Errorf("%s: reproduces %q verdict %q, want %q %q", name, reproduces, verdict, want.Reproduces, want.Verdict)
		}
	}
	all, _, err := l.Summaries()
	if err != nil || len(all) != 1 {
		t.Fatalf("summaries: %v %v", all, err)
	}
	check("Summaries", all[0].Reproduces, all[0].Verdict)
	listed, _, err := List(l, Query{})
	if err != nil || len(listed) != 1 {
		t.Fatalf("list: %v %v", listed, err)
	}
	check("List", listed[0].Reproduces, listed[0].Verdict)
	r := record.RecordFromSummary(listed[0])
	check("RecordFromSummary", r.Reproduces, r.Verdict)
}
