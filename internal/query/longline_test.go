package query

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListSkipsOverlongLines: a ledger line far longer than any magelab
// writes (50 MB, hand-made or corrupted) is skipped with a warning, costs
// the listing no more memory than a block, and hides no other run.
func TestListSkipsOverlongLines(t *testing.T) {
	l := ledger.Open(t.TempDir())
	id := func(i int) string { return fmt.Sprintf("019a0000-0000-7000-8000-%012d", i) }
	start := time.Unix(1e9, 0).UTC()
	for i := range 3 {
		mustAppend(t, l, record.Event{Run: id(i), Type: record.EventRunStarted, Time: start, Experiment: "x"})
		code := 0
		mustAppend(t, l, record.Event{Run: id(i), Type: record.EventRunFinished, Time: start, Status: record.StatusFinished, ExitCode: &code})
	}
	big, _ := json.Marshal(record.Event{Run: id(99), Type: record.EventRunStarted, Time: start, Experiment: "x",
		Params: map[string]any{"pad": strings.Repeat("x", 50<<20)}})
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	f.Write(append(big, '\n'))
	f.Close()
	mustAppend(t, l, record.Event{Run: id(7), Type: record.EventRunStarted, Time: start, Experiment: "x"})

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	runs, warnings, err := List(l, Query{})
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Len(t, runs, 4, "every other run is listed")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(40<<20), "the listing read the long line into memory")
	require.Len(t, warnings, 1, "%q", warnings)
	assert.Contains(t, warnings[0], fmt.Sprintf("skipped a line of %d bytes, longer than a ledger line may be (1048576)", len(big)))

	found, _, err := Find(l, id(0)[24:])
	require.NoError(t, err)
	assert.Equal(t, id(0), found[0].ID)

	events, warnings, err := l.Events()
	require.NoError(t, err)
	assert.Len(t, events, 7)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "skipped a line of")
}
